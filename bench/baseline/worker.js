// Baseline for `cargo xtask bench`: the least a Worker + Durable Object can do to relay a chat message.
// GET /room/<name> with `Upgrade: websocket` goes to the Durable Object named <name>; it accepts with the
// hibernation API and sends every message to every other socket in the room. No storage, no parsing.
import { DurableObject } from "cloudflare:workers";

export class Room extends DurableObject {
  async fetch(request) {
    if (request.headers.get("Upgrade") !== "websocket") {
      return new Response("expected a WebSocket upgrade\n", { status: 426 });
    }
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  async webSocketMessage(ws, message) {
    for (const other of this.ctx.getWebSockets()) {
      if (other === ws) continue;
      try {
        other.send(message);
      } catch {
        // The other side is closing: nothing to relay to.
      }
    }
  }

  async webSocketClose(ws, code, reason, wasClean) {
    // With compatibility dates before 2026-04-07 the runtime does not answer the close frame by itself.
    try {
      ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }

  async webSocketError(ws, error) {
    // Nothing to clean up: the room keeps no state besides its sockets.
  }
}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const match = url.pathname.match(/^\/room\/([^/]+)$/);
    if (request.method !== "GET" || !match) {
      return new Response("not found\n", { status: 404 });
    }
    if (request.headers.get("Upgrade") !== "websocket") {
      return new Response("expected a WebSocket upgrade\n", { status: 426 });
    }
    const name = decodeURIComponent(match[1]);
    return env.ROOM.get(env.ROOM.idFromName(name)).fetch(request);
  },
};
