//! The authorization matrix on a real workerd: every HTTP endpoint and conversation frame against every kind
//! of caller (anonymous, contact A, contact B, an agent, the agent who transferred the chat away, a
//! supervisor, an admin, another site's admin), with the outcome each must get. A row that changes breaks
//! this test, on purpose.

mod support;

use anyhow::{Context, Result};
use confab_protocol::frames::{ClientFrame, DeskClientFrame, ErrorCode, ServerFrame};
use confab_protocol::ids::AgentId;
use confab_protocol::routing::TransferTarget;
use confab_tests::{
    DEMO_ADMIN, DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, DEMO_SUPERVISOR, Edge, demo_site_with_staff,
};
use serde_json::{Value, json};
use support::{DeskPeer, Peer, edge_with_site, ready_agent, sign_in, start_chat};

/// Who calls, with which credentials.
#[derive(Clone)]
struct Caller {
    name: &'static str,
    cookie: Option<String>,
    bearer: Option<String>,
}

const ROLES: [&str; 8] = [
    "anonymous",
    "contact A",
    "contact B",
    "agent",
    "agent after transfer",
    "supervisor",
    "admin",
    "other admin",
];

fn call(edge: &Edge, caller: &Caller, method: &str, path: &str, body: Option<&[u8]>) -> Result<u16> {
    let agent = support::http_client();
    let url = edge.url(path);
    let mut headers: Vec<(&str, String)> = Vec::new();
    if let Some(cookie) = &caller.cookie {
        headers.push(("cookie", cookie.clone()));
    }
    if let Some(token) = &caller.bearer {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    macro_rules! with_headers {
        ($request:expr) => {{
            let mut request = $request;
            for (name, value) in &headers {
                request = request.header(*name, value);
            }
            request
        }};
    }
    let resp = match method {
        "GET" => with_headers!(agent.get(&url)).call()?,
        "DELETE" => with_headers!(agent.delete(&url)).call()?,
        "POST" => with_headers!(agent.post(&url)).send(body.unwrap_or(b"{}"))?,
        "PATCH" => with_headers!(agent.patch(&url))
            .header("content-type", "application/json")
            .send(body.unwrap_or(b"{}"))?,
        other => anyhow::bail!("no method {other}"),
    };
    Ok(resp.status().as_u16())
}

/// What is checked, the method, the path, the body, and the status each of [`ROLES`] must get.
type Row<'a> = (&'a str, &'a str, String, Option<&'a [u8]>, [u16; 8]);

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_and_frame_answers_each_caller_as_specified() -> Result<()> {
    let edge = edge_with_site("authorization", demo_site_with_staff("http://127.0.0.1:9"))?;
    edge.seed_site(
        "elsewhere",
        &json!({"name": "Elsewhere", "allowed_origins": [], "agents": [
            {"id": "boss", "name": "Boss", "email": "boss@elsewhere.test", "password": DEMO_PASSWORD, "role": "admin"}]}),
    )?;

    // Chat A: Ada takes it, then transfers it to Grace; Ada is now "the agent after transfer".
    let (ada, mut ada_desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let a = start_chat(&edge, DEMO_SITE)?;
    let mut contact_a = Peer::connect(&edge, &a.interaction.to_string(), None).await?;
    contact_a.hello(Some(&a.contact_token), None).await?;
    contact_a.say("Chat A").await?;
    ada_desk.offered(a.interaction).await?;
    ada_desk.accept(a.interaction).await?;
    let (grace, mut grace_desk) = ready_agent(&edge, DEMO_AGENTS[1].0).await?;
    ada_desk
        .send(&DeskClientFrame::Transfer {
            interaction: a.interaction,
            target: TransferTarget::Agent(AgentId("grace".into())),
        })
        .await?;
    grace_desk.offered(a.interaction).await?;
    grace_desk.accept(a.interaction).await?;
    // Chat B, another contact's, waits (Ada and Grace are Not Ready now).
    ada_desk
        .send(&DeskClientFrame::SetPresence { presence: confab_protocol::routing::Presence::NotReady })
        .await?;
    grace_desk
        .send(&DeskClientFrame::SetPresence { presence: confab_protocol::routing::Presence::NotReady })
        .await?;
    let b = start_chat(&edge, DEMO_SITE)?;
    let mut contact_b = Peer::connect(&edge, &b.interaction.to_string(), None).await?;
    contact_b.hello(Some(&b.contact_token), None).await?;
    contact_b.say("Chat B").await?;
    contact_b.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;

    let nobody = |name| Caller { name, cookie: None, bearer: None };
    let with_cookie = |name, cookie: String| Caller { name, cookie: Some(cookie), bearer: None };
    let callers = [
        nobody("anonymous"),
        Caller { name: "contact A", cookie: None, bearer: Some(a.contact_token.clone()) },
        Caller { name: "contact B", cookie: None, bearer: Some(b.contact_token.clone()) },
        with_cookie("agent", grace.clone()),
        with_cookie("agent after transfer", ada.clone()),
        with_cookie("supervisor", sign_in(&edge, DEMO_SUPERVISOR.0)?),
        with_cookie("admin", sign_in(&edge, DEMO_ADMIN.0)?),
        with_cookie("other admin", sign_in(&edge, "boss@elsewhere.test")?),
    ];
    assert_eq!(callers.iter().map(|c| c.name).collect::<Vec<_>>(), ROLES);

    // The contact ids, from the site's own list and histories.
    let mut resp = ureq::get(&edge.url("/api/v1/contacts")).header("cookie", &grace).call()?;
    let contacts: Value = resp.body_mut().read_json()?;
    let mut contact_of = std::collections::BTreeMap::new();
    for entry in contacts.as_array().context("contacts")? {
        let id = entry["contact"].as_str().context("contact id")?.to_owned();
        let mut resp = ureq::get(&edge.url(&format!("/api/v1/contacts/{id}/history")))
            .header("cookie", &grace)
            .call()?;
        let history: Value = resp.body_mut().read_json()?;
        let interaction =
            history["conversations"][0]["interaction"].as_str().context("a conversation")?.to_owned();
        contact_of.insert(interaction, id);
    }
    let contact_a_id = contact_of[&a.interaction.to_string()].clone();
    let contact_b_id = contact_of[&b.interaction.to_string()].clone();
    let upload = format!("/api/v1/chats/{}/attachments?name=a.png", a.interaction);

    //                                                          anon cA   cB   agent after sup  admin other
    let rows: Vec<Row<'_>> = vec![
        ("me", "GET", "/api/v1/agent/me".into(), None, [401, 401, 401, 200, 200, 200, 200, 200]),
        ("site", "GET", "/api/v1/site".into(), None, [401, 401, 401, 200, 200, 200, 200, 200]),
        ("contacts", "GET", "/api/v1/contacts".into(), None, [401, 401, 401, 200, 200, 200, 200, 200]),
        (
            "history",
            "GET",
            format!("/api/v1/contacts/{contact_a_id}/history"),
            None,
            [401, 401, 401, 200, 200, 200, 200, 404],
        ),
        (
            "transcript",
            "GET",
            format!("/api/v1/chats/{}/transcript", a.interaction),
            None,
            [401, 401, 401, 200, 200, 200, 200, 404],
        ),
        ("records", "GET", "/api/v1/records".into(), None, [401, 401, 401, 403, 403, 200, 200, 200]),
        ("admin site", "GET", "/api/v1/admin/site".into(), None, [401, 401, 401, 403, 403, 403, 200, 200]),
        (
            "admin agent",
            "PATCH",
            "/api/v1/admin/agents/ada".into(),
            Some(br#"{"capacity": 3}"#),
            [401, 401, 401, 403, 403, 403, 200, 404],
        ),
        (
            "erase contact (chat open)",
            "DELETE",
            format!("/api/v1/contacts/{contact_b_id}"),
            None,
            [401, 401, 401, 403, 403, 403, 409, 404],
        ),
        (
            "contact session",
            "GET",
            format!("/api/v1/sites/{DEMO_SITE}/contact"),
            None,
            [401, 200, 200, 401, 401, 401, 401, 401],
        ),
        ("upload", "POST", upload, Some(PNG), [401, 201, 401, 201, 201, 201, 201, 404]),
    ];
    let mut mismatches = Vec::new();
    for (what, method, path, body, expected) in &rows {
        for (caller, want) in callers.iter().zip(expected) {
            let got = call(&edge, caller, method, path, *body)?;
            if got != *want {
                mismatches.push(format!("{what} as {}: {got}, expected {want}", caller.name));
            }
        }
    }
    assert!(mismatches.is_empty(), "authorization matrix:\n{}", mismatches.join("\n"));

    // Conversation A's socket and frames. Contacts prove themselves in hello; agents by cookie.
    let hello = |caller: &Caller| {
        let (edge, caller, id) = (&edge, caller.clone(), a.interaction.to_string());
        async move {
            let mut peer = match Peer::connect(edge, &id, caller.cookie.as_deref()).await {
                Ok(peer) => peer,
                Err(_) => return Ok::<_, anyhow::Error>((None, "refused")),
            };
            let answer = match peer.hello(caller.bearer.as_deref(), None).await {
                Ok(ServerFrame::Welcome { .. }) => "welcome",
                _ => "error",
            };
            Ok((Some(peer), answer))
        }
    };
    let expected_hello = ["error", "welcome", "error", "welcome", "welcome", "welcome", "welcome", "refused"];
    let mut peers = Vec::new();
    for (caller, want) in callers.iter().zip(expected_hello) {
        let (peer, got) = hello(caller).await?;
        assert_eq!(got, want, "hello on chat A as {}", caller.name);
        peers.push(peer);
    }
    // Writing: the contact and the agent who has the chat; not the one who transferred it, nor onlookers.
    let writes = [
        ("contact A", true),
        ("agent", true),
        ("agent after transfer", false),
        ("supervisor", false),
        ("admin", false),
    ];
    for (name, allowed) in writes {
        let index = ROLES.iter().position(|r| *r == name).context("role")?;
        let peer = peers[index].as_mut().context("connected")?;
        peer.say(&format!("written by {name}")).await?;
        let answer =
            peer.expect(|f| matches!(f, ServerFrame::Ack { .. } | ServerFrame::Error { .. })).await?;
        assert_eq!(matches!(answer, ServerFrame::Ack { .. }), allowed, "{name} writes: {answer:?}");
    }
    // Agent actions: only the agent who has the chat; a contact is told plainly it cannot.
    let contact = peers[1].as_mut().context("contact A")?;
    contact.send(&ClientFrame::Park).await?;
    let refused = contact.expect(|f| matches!(f, ServerFrame::Error { .. })).await?;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::Unauthorized, .. }), "{refused:?}");
    let former = peers[4].as_mut().context("agent after transfer")?;
    former.send(&ClientFrame::Park).await?;
    let refused = former.expect(|f| matches!(f, ServerFrame::Error { .. })).await?;
    assert!(matches!(refused, ServerFrame::Error { .. }), "the former agent cannot park: {refused:?}");

    // The desk socket: staff of the site only.
    for (caller, allowed) in callers.iter().zip([false, false, false, true, true, true, true, true]) {
        let opened = match &caller.cookie {
            Some(cookie) => DeskPeer::connect(&edge, cookie).await.is_ok(),
            None => false,
        };
        assert_eq!(opened, allowed, "desk socket as {}", caller.name);
    }
    Ok(())
}
