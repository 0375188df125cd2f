//! The authorization matrix on a real workerd: every route of the router (`confab_protocol::routes::ROUTES`:
//! a route without a row fails the test) and the conversation frames against every kind of caller
//! (anonymous, contact A, contact B, an agent, the agent who transferred the chat away, a supervisor, an
//! admin, another site's admin, the deployment's operator with the admin token), each answer's exact status
//! and error code. A cell that changes breaks this test, on purpose.

mod support;

use anyhow::{Context, Result};
use confab_protocol::frames::{ClientFrame, DeskClientFrame, DeskFrame, ErrorCode, ServerFrame};
use confab_protocol::ids::AgentId;
use confab_protocol::routes::{self, Method, ROUTES};
use confab_protocol::routing::{Presence, TransferTarget};
use confab_tests::{
    DEMO_ADMIN, DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, DEMO_SUPERVISOR, Edge, demo_site_with_staff,
};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use support::{DeskPeer, Peer, ready_agent, sign_in, start_chat};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Who calls, with which credentials.
#[derive(Clone)]
struct Caller {
    name: &'static str,
    cookie: Option<String>,
    bearer: Option<String>,
}

const ROLES: [&str; 9] = [
    "anonymous",
    "contact A",
    "contact B",
    "agent",
    "agent after transfer",
    "supervisor",
    "admin",
    "other admin",
    "operator",
];

/// A status and the JSON error code with it (`""` for an answer that is no error).
type Cell = (u16, &'static str);
const OK: Cell = (200, "");
const CREATED: Cell = (201, "");
const NO_CONTENT: Cell = (204, "");
const REDIRECT: Cell = (307, "");
const UPGRADED: Cell = (101, "");
const SIGN_IN: Cell = (401, "unauthorized");
const FORBIDDEN: Cell = (403, "forbidden");
const NOT_FOUND: Cell = (404, "not_found");
const BAD_REQUEST: Cell = (400, "bad_request");
const CONFLICT: Cell = (409, "conflict");

/// One route of [`ROUTES`] called as each of [`ROLES`]: the concrete path (and query), the body, whether it
/// is a WebSocket upgrade, and the answer each caller must get.
struct Row {
    method: Method,
    pattern: &'static str,
    path: String,
    body: Vec<u8>,
    upgrade: bool,
    expected: [Cell; 9],
}

fn row(method: Method, pattern: &'static str, path: impl Into<String>, expected: [Cell; 9]) -> Row {
    Row { method, pattern, path: path.into(), body: Vec::new(), upgrade: false, expected }
}

fn with_body(mut row: Row, body: impl Into<Vec<u8>>) -> Row {
    row.body = body.into();
    row
}

fn upgrade(mut row: Row) -> Row {
    row.upgrade = true;
    row
}

/// Calls `row` as `caller` and returns the status and error code it got.
async fn call(edge: &Edge, caller: &Caller, row: &Row) -> Result<(u16, String)> {
    let mut headers: Vec<(&str, String)> = Vec::new();
    if let Some(cookie) = &caller.cookie {
        headers.push(("cookie", cookie.clone()));
    }
    if let Some(token) = &caller.bearer {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    if row.upgrade {
        let mut request = edge.ws_url(&row.path).into_client_request()?;
        for (name, value) in &headers {
            request.headers_mut().insert(*name, value.parse()?);
        }
        return support::upgrade_answer(request).await;
    }
    let mut request = ureq::http::Request::builder().method(row.method.as_str()).uri(edge.url(&row.path));
    for (name, value) in &headers {
        request = request.header(*name, value);
    }
    if !row.body.is_empty() {
        request = request.header("content-type", "application/json");
    }
    let agent: ureq::Agent =
        ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let mut resp = agent.run(request.body(row.body.clone())?)?;
    let status = resp.status().as_u16();
    // Bodies may be files: only a JSON error has a code.
    let answer: Value = serde_json::from_slice(&resp.body_mut().read_to_vec()?).unwrap_or(Value::Null);
    Ok((status, support::code(&answer).to_owned()))
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_and_frame_answers_each_caller_as_specified() -> Result<()> {
    // Every route is called as nine callers from one address: the setup routes' limit per address is lifted
    // here (its own test is in admin.rs).
    let paths = confab_tests::Paths::new();
    let mut options = confab_tests::EdgeOptions::for_test(&paths, "authorization")?;
    options.vars.push(("CONFAB_LIMIT_SETUP_PER_ADDRESS".into(), "1000/0".into()));
    let edge = Edge::start(&paths, options)?;
    edge.seed_site(DEMO_SITE, &demo_site_with_staff("http://127.0.0.1:9"))?;
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
    for desk in [&mut ada_desk, &mut grace_desk] {
        desk.send(&DeskClientFrame::SetPresence { presence: Presence::NotReady }).await?;
        desk.expect(|f| matches!(f, DeskFrame::Presence { presence: Presence::NotReady })).await?;
    }
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
        Caller { name: "operator", cookie: None, bearer: Some(edge.options.admin_token.clone()) },
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
    // A file in chat A, and its signed link (the link is the credential: whoever has it may download).
    let photo = support::upload_photo(&edge, &a.interaction, &a.contact_token)?;
    let mut resp =
        ureq::get(&edge.url(&format!("/api/v1/chats/{}/attachments/{}/link", a.interaction, photo.id)))
            .header("authorization", &format!("Bearer {}", a.contact_token))
            .call()?;
    let link: Value = resp.body_mut().read_json()?;
    let download = link["url"].as_str().context("a link")?.trim_start_matches(&edge.origin()).to_owned();
    let chat_a = a.interaction;

    use Method::{Delete, Get, Options, Patch, Post, Put};
    //                                       anon       cA         cB         agent      after      sup        admin      other      operator
    let staff_read =
        |m, p, path: String| row(m, p, path, [SIGN_IN, SIGN_IN, SIGN_IN, OK, OK, OK, OK, OK, SIGN_IN]);
    let site_read =
        |m, p, path: String| row(m, p, path, [SIGN_IN, SIGN_IN, SIGN_IN, OK, OK, OK, OK, NOT_FOUND, SIGN_IN]);
    let admin_only = |m, p, path: &str, admin: Cell, other: Cell| {
        row(m, p, path, [SIGN_IN, SIGN_IN, SIGN_IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, admin, other, SIGN_IN])
    };
    let public = |m, p, path: String, cell: Cell| row(m, p, path, [cell; 9]);
    let rows: Vec<Row> = vec![
        with_body(
            row(Put, "/api/v1/admin/sites/{site}", "/api/v1/admin/sites/scratch",
                [SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, OK]),
            br#"{"name": "Scratch", "allowed_origins": [], "agents": []}"#.to_vec(),
        ),
        row(Get, "/api/v1/admin/sites/{site}", format!("/api/v1/admin/sites/{DEMO_SITE}"),
            [SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, OK]),
        with_body(
            public(Post, "/api/v1/setup", "/api/v1/setup".into(), SIGN_IN),
            json!({"setup_token": "not-the-token", "site": "newsite", "site_name": "New", "name": "New Owner",
                   "email": "owner@newsite.test", "password": "a long password"}).to_string(),
        ),
        admin_only(Get, "/api/v1/admin/site", "/api/v1/admin/site", OK, OK),
        with_body(admin_only(Put, "/api/v1/admin/site", "/api/v1/admin/site", BAD_REQUEST, BAD_REQUEST), "{}"),
        admin_only(Post, "/api/v1/admin/site/identity-secret", "/api/v1/admin/site/identity-secret", OK, OK),
        admin_only(Delete, "/api/v1/admin/site/identity-secret", "/api/v1/admin/site/identity-secret", OK, OK),
        // The same new email in two sites: the second is refused (an email signs in to one site).
        with_body(
            admin_only(Post, "/api/v1/admin/agents", "/api/v1/admin/agents", CREATED, CONFLICT),
            json!({"id": "newbie", "name": "New Agent", "email": "newbie@demo.confab.test",
                   "password": "a long password"}).to_string(),
        ),
        with_body(
            admin_only(Patch, "/api/v1/admin/agents/{agent}", "/api/v1/admin/agents/ada", OK, NOT_FOUND),
            br#"{"capacity": 3}"#.to_vec(),
        ),
        row(Get, "/api/v1/records", "/api/v1/records",
            [SIGN_IN, SIGN_IN, SIGN_IN, FORBIDDEN, FORBIDDEN, OK, OK, OK, SIGN_IN]),
        // A contact's data is not erased while one of its chats is open.
        admin_only(
            Delete,
            "/api/v1/contacts/{contact}",
            &format!("/api/v1/contacts/{contact_b_id}"),
            (409, "not_allowed_now"),
            NOT_FOUND,
        ),
        public(Options, "/api/v1/sites/{site}/widget", format!("/api/v1/sites/{DEMO_SITE}/widget"), NO_CONTENT),
        public(Get, "/api/v1/sites/{site}/widget", format!("/api/v1/sites/{DEMO_SITE}/widget"), OK),
        with_body(public(Post, "/api/v1/sites/{site}/chats", format!("/api/v1/sites/{DEMO_SITE}/chats"), CREATED), "{}"),
        // Contacts prove who they are in the socket's hello (below); staff of another site cannot open it.
        upgrade(row(Get, "/api/v1/chats/{interaction}/socket", format!("/api/v1/chats/{chat_a}/socket"),
            [UPGRADED, UPGRADED, UPGRADED, UPGRADED, UPGRADED, UPGRADED, UPGRADED, SIGN_IN, UPGRADED])),
        with_body(
            public(Post, "/api/v1/agent/session", "/api/v1/agent/session".into(), (401, "bad_credentials")),
            json!({"email": DEMO_AGENTS[0].0, "password": "not the password"}).to_string(),
        ),
        staff_read(Get, "/api/v1/agent/me", "/api/v1/agent/me".into()),
        staff_read(Get, "/api/v1/site", "/api/v1/site".into()),
        public(Options, "/api/v1/sites/{site}/contact", format!("/api/v1/sites/{DEMO_SITE}/contact"), NO_CONTENT),
        row(Get, "/api/v1/sites/{site}/contact", format!("/api/v1/sites/{DEMO_SITE}/contact"),
            [SIGN_IN, OK, OK, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN, SIGN_IN]),
        upgrade(row(Get, "/api/v1/desk/socket", "/api/v1/desk/socket",
            [SIGN_IN, SIGN_IN, SIGN_IN, UPGRADED, UPGRADED, UPGRADED, UPGRADED, UPGRADED, SIGN_IN])),
        with_body(
            row(Post, "/api/v1/chats/{interaction}/attachments", format!("/api/v1/chats/{chat_a}/attachments?name=a.png"),
                [SIGN_IN, CREATED, SIGN_IN, CREATED, CREATED, CREATED, CREATED, NOT_FOUND, SIGN_IN]),
            PNG,
        ),
        row(Get, "/api/v1/chats/{interaction}/attachments/{attachment}/link",
            format!("/api/v1/chats/{chat_a}/attachments/{}/link", photo.id),
            [SIGN_IN, OK, SIGN_IN, OK, OK, OK, OK, NOT_FOUND, SIGN_IN]),
        public(Get, "/api/v1/files/{site}/{interaction}/{attachment}", download, OK),
        staff_read(Get, "/api/v1/contacts", "/api/v1/contacts".into()),
        site_read(Get, "/api/v1/contacts/{contact}/history", format!("/api/v1/contacts/{contact_a_id}/history")),
        site_read(Get, "/api/v1/chats/{interaction}/transcript", format!("/api/v1/chats/{chat_a}/transcript")),
        public(Get, "/widget/frame", format!("/widget/frame?site={DEMO_SITE}&origin=http%3A%2F%2F127.0.0.1%3A9"), OK),
        public(Get, "/agent", "/agent".into(), REDIRECT),
        public(Get, "/api/v1/health", "/api/v1/health".into(), OK),
        // Last: signing out must not end the other rows' sessions before they ran.
        public(Delete, "/api/v1/agent/session", "/api/v1/agent/session".into(), NO_CONTENT),
    ];

    // Every route the router has is in the matrix, once, and each row's path is its route's.
    let all: BTreeSet<(Method, &str)> = ROUTES.iter().map(|(m, p, _)| (*m, *p)).collect();
    let covered: BTreeSet<(Method, &str)> = rows.iter().map(|r| (r.method, r.pattern)).collect();
    assert_eq!(covered.len(), rows.len(), "a route has two rows");
    assert_eq!(covered, all, "each route of confab_protocol::routes::ROUTES needs a row here");
    for r in &rows {
        let path = r.path.split('?').next().unwrap_or_default();
        let found = routes::find(r.method, path).map(|f| f.route);
        let own =
            ROUTES.iter().find(|(m, p, _)| *m == r.method && *p == r.pattern).map(|(_, _, route)| *route);
        assert_eq!(found, own, "{} {} is not a path of {}", r.method.as_str(), r.path, r.pattern);
    }

    // Signing out ends every session of the caller's account: that row is called last, after everything
    // else has been called with those sessions.
    let (sign_out, rows): (Vec<Row>, Vec<Row>) =
        rows.into_iter().partition(|r| r.method == Delete && r.pattern == "/api/v1/agent/session");
    let mut mismatches = Vec::new();
    for r in &rows {
        for (caller, want) in callers.iter().zip(r.expected) {
            let (status, code) = call(&edge, caller, r).await?;
            if (status, code.as_str()) != want {
                mismatches.push(format!(
                    "{} {} as {}: {status} {code:?}, expected {} {:?}",
                    r.method.as_str(),
                    r.pattern,
                    caller.name,
                    want.0,
                    want.1
                ));
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
    let expected_hello =
        ["error", "welcome", "error", "welcome", "welcome", "welcome", "welcome", "refused", "error"];
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

    // Every other conversation frame, from everyone on chat A's socket who does not hold it (another site's
    // admin cannot even open it: the route matrix above). "-" is no refusal. The contact's end comes last:
    // it ends the chat.
    let frames = [
        ("typing", ClientFrame::Typing { on: true }),
        ("read", ClientFrame::Read { seq: 1 }),
        ("park", ClientFrame::Park),
        ("unpark", ClientFrame::Unpark),
        ("choose_code", ClientFrame::ChooseCode { code: "support".into() }),
        ("notes", ClientFrame::Notes { text: "a note".into() }),
        ("extend_wrap", ClientFrame::ExtendWrap),
        ("complete", ClientFrame::Complete),
        ("end", ClientFrame::End),
    ];
    let senders = ["agent after transfer", "supervisor", "admin", "contact A"];
    const NOT_YOURS: &str = "unauthorized";
    //                  after      sup        admin      contact A
    let expected: [[&str; 4]; 9] = [
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, "-"],            // typing
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, "-"],            // read
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, "unauthorized"], // park
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, "unauthorized"], // unpark
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, "unauthorized"], // choose_code
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, "unauthorized"], // notes
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, "unauthorized"], // extend_wrap
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, "unauthorized"], // complete
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, "-"],            // end
    ];
    let mut mismatches = Vec::new();
    for ((what, frame), wanted) in frames.iter().zip(expected) {
        for (sender, want) in senders.iter().zip(wanted) {
            let index = ROLES.iter().position(|r| r == sender).context("role")?;
            let peer = peers[index].as_mut().context("connected")?;
            let got = refusal_of(peer, frame).await?;
            if got != want {
                mismatches.push(format!("{what} from {sender}: {got:?}, expected {want:?}"));
            }
        }
    }
    // Desk frames about chat A from the site's agents who do not hold it, and from another site's admin.
    let mut desks = Vec::new();
    for name in ["agent after transfer", "supervisor", "admin", "other admin"] {
        let caller = &callers[ROLES.iter().position(|r| *r == name).context("role")?];
        desks.push((name, DeskPeer::connect(&edge, caller.cookie.as_deref().context("staff")?).await?));
    }
    let desk_frames = [
        (
            "transfer",
            DeskClientFrame::Transfer {
                interaction: chat_a,
                target: TransferTarget::Queue(confab_protocol::ids::QueueId("default".into())),
            },
        ),
        ("cancel_transfer", DeskClientFrame::CancelTransfer { interaction: chat_a }),
        ("accept", DeskClientFrame::Accept { interaction: chat_a }),
        ("reject", DeskClientFrame::Reject { interaction: chat_a }),
    ];
    //                  after             sup               admin             other admin
    let desk_expected: [[&str; 4]; 4] = [
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, NOT_YOURS], // transfer
        [NOT_YOURS, NOT_YOURS, NOT_YOURS, NOT_YOURS], // cancel_transfer
        ["not_allowed_now", "not_allowed_now", "not_allowed_now", "not_allowed_now"], // accept
        ["not_allowed_now", "not_allowed_now", "not_allowed_now", "not_allowed_now"], // reject
    ];
    for ((what, frame), wanted) in desk_frames.iter().zip(desk_expected) {
        for ((sender, desk), want) in desks.iter_mut().zip(wanted) {
            let got = desk_refusal_of(desk, frame).await?;
            if got != want {
                mismatches.push(format!("desk {what} from {sender}: {got:?}, expected {want:?}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "frame matrix:\n{}", mismatches.join("\n"));

    // The desk socket: staff of the site only.
    for (caller, allowed) in callers.iter().zip([false, false, false, true, true, true, true, true, false]) {
        let opened = match &caller.cookie {
            Some(cookie) => DeskPeer::connect(&edge, cookie).await.is_ok(),
            None => false,
        };
        assert_eq!(opened, allowed, "desk socket as {}", caller.name);
    }
    for r in &sign_out {
        for (caller, want) in callers.iter().zip(r.expected) {
            let (status, code) = call(&edge, caller, r).await?;
            assert_eq!(
                (status, code.as_str()),
                want,
                "{} {} as {}",
                r.method.as_str(),
                r.pattern,
                caller.name
            );
        }
    }
    Ok(())
}

/// Sends `frame`, then a broken frame that is always refused (`bad_frame`): the edge answers frames in order,
/// so the refusal of `frame`, if any, comes before that one. Returns its code, or "-" for none.
async fn refusal_of(peer: &mut Peer, frame: &ClientFrame) -> Result<String> {
    peer.send(frame).await?;
    peer.send_raw("{broken").await?;
    let (before, _) =
        peer.frames_until(|f| matches!(f, ServerFrame::Error { code: ErrorCode::BadFrame, .. })).await?;
    Ok(before
        .iter()
        .find_map(|f| match f {
            ServerFrame::Error { code, .. } => Some(code.as_str().to_owned()),
            _ => None,
        })
        .unwrap_or_else(|| "-".to_owned()))
}

/// [`refusal_of`] on a desk socket.
async fn desk_refusal_of(desk: &mut DeskPeer, frame: &DeskClientFrame) -> Result<String> {
    desk.send(frame).await?;
    desk.send_raw("{broken").await?;
    let mut refusal = None;
    loop {
        match desk.next().await? {
            DeskFrame::Error { code: ErrorCode::BadFrame, .. } => break,
            DeskFrame::Error { code, .. } => refusal = refusal.or(Some(code.as_str().to_owned())),
            _ => {}
        }
    }
    Ok(refusal.unwrap_or_else(|| "-".to_owned()))
}
