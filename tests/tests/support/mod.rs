//! Helpers shared by the integration and browser tests: a running edge with the demo site, a protocol-level
//! WebSocket client, and WebDriver sessions in headless Chromium.
#![allow(dead_code, unreachable_pub)] // each test binary uses its own subset

pub mod web;

use anyhow::{Context, Result, bail};
use confab_protocol::PROTOCOL_VERSION;
use confab_protocol::api::ChatStarted;
use confab_protocol::frames::{ClientFrame, DeskClientFrame, DeskFrame, ServerFrame};
use confab_protocol::ids::{ClientMessageId, InteractionId};
use confab_protocol::lifecycle::State;
use confab_protocol::routing::Presence;
use confab_tests::{DEMO_PASSWORD, DEMO_SITE, Edge, EdgeOptions, Paths, demo_site};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for something it expects to happen.
pub const PATIENCE: Duration = Duration::from_secs(15);

/// Starts an edge with fresh state and the demo site, embeddable from `host_origin`.
pub fn edge_with_demo(name: &str, host_origin: &str) -> Result<Edge> {
    edge_with_site(name, demo_site(host_origin))
}

/// Starts an edge with fresh state and the demo site set up as `site` (the demo site's JSON, adjusted).
pub fn edge_with_site(name: &str, site: Value) -> Result<Edge> {
    let paths = Paths::new();
    let edge = Edge::start(&paths, EdgeOptions::for_test(&paths, name)?)?;
    edge.seed_site(DEMO_SITE, &site)?;
    Ok(edge)
}

/// An HTTP client that answers every status as a response (error codes and bodies are what tests check).
pub fn http_client() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// Calls the API and returns the status and the JSON answer (`null` when there is none), errors included.
pub fn api(
    edge: &Edge,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> Result<(u16, Value)> {
    let agent = http_client();
    let url = edge.url(path);
    let mut resp = match (method, body) {
        ("GET", _) => with_cookie(agent.get(&url), cookie).call()?,
        ("DELETE", _) => with_cookie(agent.delete(&url), cookie).call()?,
        ("POST", body) => with_cookie(agent.post(&url), cookie).send_json(body.unwrap_or(Value::Null))?,
        ("PUT", body) => with_cookie(agent.put(&url), cookie).send_json(body.unwrap_or(Value::Null))?,
        ("PATCH", body) => with_cookie(agent.patch(&url), cookie).send_json(body.unwrap_or(Value::Null))?,
        (other, _) => bail!("no such method {other}"),
    };
    let status = resp.status().as_u16();
    let text = resp.body_mut().read_to_string()?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

pub fn with_cookie<B>(request: ureq::RequestBuilder<B>, cookie: Option<&str>) -> ureq::RequestBuilder<B> {
    match cookie {
        Some(cookie) => request.header("cookie", cookie),
        None => request,
    }
}

/// The JSON error code of an error answer (`""` if it is none).
pub fn code(answer: &Value) -> &str {
    answer["error"]["code"].as_str().unwrap_or("")
}

/// Uploads a 1x1 PNG to `interaction` as its contact.
pub fn upload_photo(
    edge: &Edge,
    interaction: &InteractionId,
    token: &str,
) -> Result<confab_protocol::frames::Attachment> {
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let url = edge.url(&format!("/api/v1/chats/{interaction}/attachments?name=crack.png"));
    let mut resp = ureq::post(&url).header("authorization", &format!("Bearer {token}")).send(PNG)?;
    Ok(resp.body_mut().read_json()?)
}

/// Starts a chat on `site` as a contact would (no Origin header: not a browser).
pub fn start_chat(edge: &Edge, site: &str) -> Result<ChatStarted> {
    let mut resp = ureq::post(&edge.url(&format!("/api/v1/sites/{site}/chats")))
        .send_json(serde_json::json!({}))
        .context("starting a chat")?;
    Ok(resp.body_mut().read_json()?)
}

/// Signs in and returns the `Cookie` header value of the session.
pub fn sign_in(edge: &Edge, email: &str) -> Result<String> {
    let resp = ureq::post(&edge.url("/api/v1/agent/session"))
        .send_json(serde_json::json!({"email": email, "password": DEMO_PASSWORD}))
        .context("signing in")?;
    let set_cookie = resp.headers().get("set-cookie").context("no session cookie")?.to_str()?;
    Ok(set_cookie.split(';').next().unwrap_or_default().to_owned())
}

/// Asks the edge to upgrade `request` (a WebSocket request built with `into_client_request`, with its
/// headers) and returns the refusal's status and JSON error code; an error if the upgrade was accepted.
pub async fn refused_upgrade(
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
) -> Result<(u16, String)> {
    let answer = upgrade_answer(request).await?;
    if answer.0 == 101 {
        bail!("the socket opened");
    }
    Ok(answer)
}

/// Asks the edge to upgrade `request` and returns the answer's status and JSON error code (`101` and `""`
/// when the socket opened; the connection is then dropped).
///
/// Written on a plain TCP stream because a WebSocket client keeps a refusal's body only if it happened to
/// arrive with the headers, and the body's error code is what the tests assert.
pub async fn upgrade_answer(
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
) -> Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let uri = request.uri();
    let authority = uri.authority().context("no host in the socket's URL")?.to_string();
    let mut head = format!(
        "GET {} HTTP/1.1\r\nhost: {authority}\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n",
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    for (name, value) in request.headers() {
        if !name.as_str().starts_with("sec-websocket")
            && !["host", "connection", "upgrade"].contains(&name.as_str())
        {
            head.push_str(&format!("{name}: {}\r\n", value.to_str()?));
        }
    }
    head.push_str("\r\n");
    let mut stream = tokio::time::timeout(PATIENCE, TcpStream::connect(&authority)).await??;
    stream.write_all(head.as_bytes()).await?;
    // Read the head, then exactly the body its content-length announces.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let body_at = loop {
        if let Some(at) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await??;
        if n == 0 {
            bail!("the connection closed before an answer: {:?}", String::from_utf8_lossy(&answer));
        }
        answer.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&answer[..body_at]).to_string();
    let status: u16 = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).context("no status")?;
    if status == 101 {
        return Ok((101, String::new()));
    }
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_owned()))
        .and_then(|v| v.parse().ok())
        .context("the refusal has no content-length")?;
    while answer.len() < body_at + length {
        let n = tokio::time::timeout(PATIENCE, stream.read(&mut buf)).await??;
        if n == 0 {
            bail!("the connection closed in the middle of the refusal's body");
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let body: Value = serde_json::from_slice(&answer[body_at..body_at + length]).unwrap_or(Value::Null);
    Ok((status, code(&body).to_owned()))
}

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A protocol client on one conversation socket.
pub struct Peer {
    ws: Ws,
    /// Frames passed over by [`Peer::expect`].
    seen: Vec<ServerFrame>,
}

impl Peer {
    /// Opens the conversation socket, with an agent's session cookie or none (a contact).
    pub async fn connect(edge: &Edge, interaction: &str, cookie: Option<&str>) -> Result<Peer> {
        let mut request =
            edge.ws_url(&format!("/api/v1/chats/{interaction}/socket")).into_client_request()?;
        if let Some(cookie) = cookie {
            request.headers_mut().insert("cookie", cookie.parse()?);
        }
        let (ws, _) = tokio_tungstenite::connect_async(request).await.context("opening the socket")?;
        Ok(Peer { ws, seen: Vec::new() })
    }

    /// Opens the conversation as a signed-in agent, says hello, and waits until the conversation knows who
    /// has it: the desk tells it about an accept through its outbox, a moment after it tells the agent, so
    /// acting at once could race the assignment (the desktop, likewise, follows the conversation's `state`).
    pub async fn agent(edge: &Edge, interaction: &str, cookie: &str) -> Result<Peer> {
        let mut agent = Peer::connect(edge, interaction, Some(cookie)).await?;
        agent.hello(None, None).await?;
        agent
            .expect(|f| {
                matches!(f, ServerFrame::State { view }
                    if !matches!(view.state, State::New | State::Queued { .. } | State::Offered { .. }))
            })
            .await?;
        Ok(agent)
    }

    pub async fn send(&mut self, frame: &ClientFrame) -> Result<()> {
        self.ws.send(WsMessage::text(frame.encode())).await?;
        Ok(())
    }

    pub async fn send_raw(&mut self, text: &str) -> Result<()> {
        self.ws.send(WsMessage::text(text.to_owned())).await?;
        Ok(())
    }

    pub async fn hello(&mut self, token: Option<&str>, after: Option<u64>) -> Result<ServerFrame> {
        self.send(&ClientFrame::Hello { version: PROTOCOL_VERSION, token: token.map(str::to_owned), after })
            .await?;
        self.next().await
    }

    /// Sends a message and returns its new client id.
    pub async fn say(&mut self, text: &str) -> Result<ClientMessageId> {
        let client_id = ClientMessageId(uuid::Uuid::new_v4());
        self.send(&ClientFrame::Send { client_id, text: text.to_owned(), attachments: Vec::new() }).await?;
        Ok(client_id)
    }

    /// The next frame, within [`PATIENCE`].
    pub async fn next(&mut self) -> Result<ServerFrame> {
        loop {
            let msg = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .context("no frame arrived in time")?
                .context("the socket closed")??;
            match msg {
                WsMessage::Text(text) => return Ok(ServerFrame::decode(&text)?),
                WsMessage::Close(frame) => bail!("the socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The frames [`Peer::expect`] passed over so far, oldest first.
    pub fn take_seen(&mut self) -> Vec<ServerFrame> {
        std::mem::take(&mut self.seen)
    }

    /// The next frame arriving within `wait`, or `None` (for waits longer than [`PATIENCE`]).
    pub async fn next_within(&mut self, wait: Duration) -> Result<Option<ServerFrame>> {
        loop {
            let Ok(msg) = tokio::time::timeout(wait, self.ws.next()).await else { return Ok(None) };
            match msg.context("the socket closed")?? {
                WsMessage::Text(text) => return Ok(Some(ServerFrame::decode(&text)?)),
                WsMessage::Close(frame) => bail!("the socket closed: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// The first frame (already passed over, or arriving within [`PATIENCE`]) for which `wanted` is true.
    pub async fn expect(&mut self, wanted: impl Fn(&ServerFrame) -> bool) -> Result<ServerFrame> {
        let (mut passed_over, found) = self.frames_until(wanted).await?;
        // Kept for later, in their order, before anything that came after the one found.
        passed_over.append(&mut self.seen);
        self.seen = passed_over;
        Ok(found)
    }

    /// Waits for the first frame `marker` matches and returns it with every frame that came before it and was
    /// not taken yet (passed over by [`Peer::expect`] or not), oldest first. A frame sent after something
    /// happened arrives after whatever that something sent to this socket (a socket keeps order), so this
    /// proves what a side was, and was not, sent.
    pub async fn frames_until(
        &mut self,
        marker: impl Fn(&ServerFrame) -> bool,
    ) -> Result<(Vec<ServerFrame>, ServerFrame)> {
        let mut before = std::mem::take(&mut self.seen);
        if let Some(at) = before.iter().position(&marker) {
            let found = before.remove(at);
            self.seen = before.split_off(at);
            return Ok((before, found));
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let frame = tokio::time::timeout_at(deadline, self.next())
                .await
                .context("the awaited frame did not arrive")??;
            if marker(&frame) {
                return Ok((before, frame));
            }
            before.push(frame);
        }
    }

    /// Asserts that no frame for which `unwanted` is true arrives within `wait` (others are kept for later).
    pub async fn expect_none(
        &mut self,
        wait: Duration,
        unwanted: impl Fn(&ServerFrame) -> bool,
    ) -> Result<()> {
        if let Some(frame) = self.seen.iter().find(|f| unwanted(f)) {
            bail!("unexpected frame: {frame:?}");
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.next()).await {
                Err(_) => return Ok(()),
                Ok(frame) => {
                    let frame = frame?;
                    if unwanted(&frame) {
                        bail!("unexpected frame: {frame:?}");
                    }
                    self.seen.push(frame);
                }
            }
        }
    }

    /// Asserts that no frame arrives within `wait`.
    pub async fn expect_silence(&mut self, wait: Duration) -> Result<()> {
        match tokio::time::timeout(wait, self.ws.next()).await {
            Err(_) => Ok(()),
            Ok(Some(Ok(WsMessage::Text(text)))) => bail!("expected nothing, got {text}"),
            Ok(other) => bail!("expected nothing, got {other:?}"),
        }
    }

    /// Waits for the server to close the socket and returns the close code.
    pub async fn closed_with(&mut self) -> Result<Option<u16>> {
        loop {
            match tokio::time::timeout(PATIENCE, self.ws.next()).await.context("the socket stayed open")? {
                Some(Ok(WsMessage::Close(frame))) => return Ok(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ok(None),
            }
        }
    }
}

/// An agent's desk socket (presence, offers, transfers).
pub struct DeskPeer {
    ws: Ws,
    /// Frames passed over by [`DeskPeer::expect`], for later expectations: frames may arrive in any order.
    seen: Vec<DeskFrame>,
}

impl DeskPeer {
    /// Opens the desk socket with the agent's session cookie and says hello.
    pub async fn connect(edge: &Edge, cookie: &str) -> Result<DeskPeer> {
        let mut request = edge.ws_url("/api/v1/desk/socket").into_client_request()?;
        request.headers_mut().insert("cookie", cookie.parse()?);
        let (ws, _) = tokio_tungstenite::connect_async(request).await.context("opening the desk socket")?;
        let mut desk = DeskPeer { ws, seen: Vec::new() };
        desk.send(&DeskClientFrame::Hello { version: PROTOCOL_VERSION }).await?;
        desk.expect(|f| matches!(f, DeskFrame::Welcome { .. })).await?;
        Ok(desk)
    }

    /// The next frame (or one passed over by [`DeskPeer::expect`]), within [`PATIENCE`].
    pub async fn next(&mut self) -> Result<DeskFrame> {
        if !self.seen.is_empty() {
            return Ok(self.seen.remove(0));
        }
        loop {
            let msg = tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .context("no desk frame arrived in time")?
                .context("the desk socket closed")??;
            if let WsMessage::Text(text) = msg {
                return Ok(DeskFrame::decode(&text)?);
            }
        }
    }

    pub async fn send(&mut self, frame: &DeskClientFrame) -> Result<()> {
        self.ws.send(WsMessage::text(frame.encode())).await?;
        Ok(())
    }

    pub async fn send_raw(&mut self, text: &str) -> Result<()> {
        self.ws.send(WsMessage::text(text.to_owned())).await?;
        Ok(())
    }

    /// The first frame (already passed over, or arriving within [`PATIENCE`]) for which `wanted` is true.
    pub async fn expect(&mut self, wanted: impl Fn(&DeskFrame) -> bool) -> Result<DeskFrame> {
        if let Some(at) = self.seen.iter().position(&wanted) {
            return Ok(self.seen.remove(at));
        }
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .context("the expected desk frame did not arrive in time")?
                .context("the desk socket closed")??;
            if let WsMessage::Text(text) = msg {
                let frame = DeskFrame::decode(&text)?;
                if wanted(&frame) {
                    return Ok(frame);
                }
                self.seen.push(frame);
            }
        }
    }

    /// Waits for the server to close the desk socket and returns the close code. Frames before the close
    /// are kept for [`DeskPeer::expect`].
    pub async fn closed_with(&mut self) -> Result<Option<u16>> {
        loop {
            match tokio::time::timeout(PATIENCE, self.ws.next())
                .await
                .context("the desk socket stayed open")?
            {
                Some(Ok(WsMessage::Close(frame))) => return Ok(frame.map(|f| u16::from(f.code))),
                Some(Ok(WsMessage::Text(text))) => self.seen.push(DeskFrame::decode(&text)?),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ok(None),
            }
        }
    }

    pub async fn ready(&mut self) -> Result<()> {
        self.send(&DeskClientFrame::SetPresence { presence: Presence::Ready }).await?;
        self.expect(|f| matches!(f, DeskFrame::Presence { presence: Presence::Ready })).await?;
        Ok(())
    }

    /// Waits for an offer of `interaction`.
    pub async fn offered(&mut self, interaction: InteractionId) -> Result<DeskFrame> {
        self.expect(|f| matches!(f, DeskFrame::Offer { interaction: i, .. } if *i == interaction)).await
    }

    /// Accepts `interaction` and waits until it is assigned.
    pub async fn accept(&mut self, interaction: InteractionId) -> Result<()> {
        self.send(&DeskClientFrame::Accept { interaction }).await?;
        self.expect(|f| matches!(f, DeskFrame::Assigned { interaction: i, .. } if *i == interaction)).await?;
        Ok(())
    }

    /// Asserts that no frame matching `unwanted` came (passed over by [`DeskPeer::expect`]) or arrives within
    /// `wait`; others are kept for later. Call it after a positive sign that the work it is about was done.
    pub async fn expect_none(&mut self, wait: Duration, unwanted: impl Fn(&DeskFrame) -> bool) -> Result<()> {
        if let Some(frame) = self.seen.iter().find(|f| unwanted(f)) {
            bail!("unexpected desk frame (arrived earlier): {frame:?}");
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return Ok(()),
                Ok(Some(Ok(WsMessage::Text(text)))) => {
                    let frame = DeskFrame::decode(&text)?;
                    if unwanted(&frame) {
                        bail!("unexpected desk frame: {frame:?}");
                    }
                    self.seen.push(frame);
                }
                Ok(Some(Ok(_))) => continue,
                Ok(other) => bail!("the desk socket ended: {other:?}"),
            }
        }
    }
}

/// Signs `email` in, opens its desk, sets it Ready.
pub async fn ready_agent(edge: &Edge, email: &str) -> Result<(String, DeskPeer)> {
    let cookie = sign_in(edge, email)?;
    let mut desk = DeskPeer::connect(edge, &cookie).await?;
    desk.ready().await?;
    Ok((cookie, desk))
}
