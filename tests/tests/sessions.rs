//! Sessions and links end when they should, on a real workerd: a genuinely signed but expired session or
//! attachment link is refused; a new password ends every session of the account (API, desk socket,
//! conversation sockets); a role change makes the open desktop come back with the new role's view; a
//! deactivated account loses every conversation socket it opened, held chats or not; signing out ends
//! every session of the account, and closes every socket they opened.

mod support;

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use confab_protocol::frames::{ClientFrame, DeskFrame, ErrorCode, ServerFrame, close_code};
use confab_protocol::lifecycle::Event;
use confab_tests::{
    DEMO_ADMIN, DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, DEMO_SUPERVISOR, Edge, demo_site_with_staff,
};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use support::{DeskPeer, Peer, api, code, edge_with_site, ready_agent, sign_in, start_chat, upload_photo};

/// Signs `payload` as the edge does (`base64url(payload).base64url(HMAC(secret, purpose label + payload))`),
/// with the test edge's own secret: what only the edge can make.
fn edge_signed(edge: &Edge, purpose_label: &str, payload: &str) -> Result<String> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(edge.options.secret.as_bytes())?;
    mac.update(purpose_label.as_bytes());
    mac.update(payload.as_bytes());
    Ok(format!("{}.{}", B64.encode(payload), B64.encode(mac.finalize().into_bytes())))
}

fn now_ms() -> Result<i64> {
    Ok(i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?)
}

/// Ada's session cookie, genuinely signed, expiring at `exp`.
fn session_cookie(edge: &Edge, exp: i64) -> Result<String> {
    let payload = json!({"site": DEMO_SITE, "id": "ada", "name": "Ada Lovelace", "exp": exp}).to_string();
    Ok(format!("__Host-confab_session={}", edge_signed(edge, "confab agent-session v1\n", &payload)?))
}

fn staff_edge(name: &str) -> Result<Edge> {
    edge_with_site(name, demo_site_with_staff("http://127.0.0.1:9"))
}

/// The status an upgrade to the desk socket gets with `cookie` (101 when it opens).
async fn desk_upgrade_status(edge: &Edge, cookie: &str) -> Result<u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = edge.ws_url("/api/v1/desk/socket").into_client_request()?;
    request.headers_mut().insert("cookie", cookie.parse()?);
    Ok(match tokio_tungstenite::connect_async(request).await {
        Ok((_, resp)) => resp.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => return Err(e.into()),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_sessions_and_links_are_refused_even_when_genuinely_signed() -> Result<()> {
    let edge = staff_edge("sessions-expiry")?;
    let now = now_ms()?;

    // The same cookie an hour before and a second after its expiry: only the expiry differs.
    let current = session_cookie(&edge, now + 3_600_000)?;
    let (status, me) = api(&edge, "GET", "/api/v1/agent/me", Some(&current), None)?;
    assert_eq!((status, me["id"].as_str()), (200, Some("ada")), "a current session works: {me}");
    let expired = session_cookie(&edge, now - 1_000)?;
    let (status, answer) = api(&edge, "GET", "/api/v1/agent/me", Some(&expired), None)?;
    assert_eq!((status, code(&answer)), (401, "unauthorized"), "{answer}");
    let (status, _) = api(&edge, "GET", "/api/v1/contacts", Some(&expired), None)?;
    assert_eq!(status, 401);
    assert_eq!(desk_upgrade_status(&edge, &expired).await?, 401, "an expired session opens no desk");
    assert_eq!(desk_upgrade_status(&edge, &current).await?, 101);

    // A file's link: the real one works; the same link re-signed with a past expiry is refused as expired;
    // the real one with its expiry pushed out is refused as not genuine.
    let chat = start_chat(&edge, DEMO_SITE)?;
    let photo = upload_photo(&edge, &chat.interaction, &chat.contact_token)?;
    let link_path = format!("/api/v1/chats/{}/attachments/{}/link", chat.interaction, photo.id);
    let (status, link) = api(&edge, "GET", &link_path, Some(&current), None)?;
    assert_eq!(status, 200, "{link}");
    let url = link["url"].as_str().context("a link")?;
    let object = url.strip_prefix("/api/v1/files/").and_then(|u| u.split('?').next()).context("an object")?;
    let download = support::http_client().get(&edge.url(url)).call()?;
    assert_eq!(download.status().as_u16(), 200, "the real link downloads");

    let past = now - 1_000;
    let sig = edge_signed(&edge, "confab attachment-link v1\n", &format!("{object}|{past}"))?;
    let (status, answer) =
        api(&edge, "GET", &format!("/api/v1/files/{object}?exp={past}&sig={sig}"), None, None)?;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or("").contains("expired"), "{answer}");

    let real_exp = link["expires"].as_i64().context("an expiry")?;
    let pushed = url.replace(&format!("exp={real_exp}"), &format!("exp={}", real_exp + 86_400_000));
    let (status, answer) = api(&edge, "GET", &pushed, None, None)?;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap_or("").contains("not valid"), "{answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_ends_every_session_of_the_account() -> Result<()> {
    let edge = staff_edge("sessions-password")?;
    let admin = sign_in(&edge, DEMO_ADMIN.0)?;
    let (ada, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let on_phone = sign_in(&edge, DEMO_AGENTS[0].0)?; // a second session of the same account

    let chat = start_chat(&edge, DEMO_SITE)?;
    let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say("Hello?").await?;
    desk.offered(chat.interaction).await?;
    desk.accept(chat.interaction).await?;
    let mut ada_chat = Peer::agent(&edge, &chat.interaction.to_string(), &ada).await?;
    ada_chat.hello(None, None).await?;

    let (status, answer) = api(
        &edge,
        "PATCH",
        "/api/v1/admin/agents/ada",
        Some(&admin),
        Some(json!({"password": "a-brand-new-password"})),
    )?;
    assert_eq!(status, 200, "{answer}");

    // Her open desktop is told why and closed for good; so is her socket on the chat she holds.
    assert_eq!(desk.closed_with().await?, Some(close_code::SIGNED_OUT));
    let told = desk.expect(|f| matches!(f, DeskFrame::Error { code: ErrorCode::Unauthorized, .. })).await?;
    assert!(format!("{told:?}").contains("password"), "{told:?}");
    assert_eq!(ada_chat.closed_with().await?, Some(close_code::SIGNED_OUT));
    // Both sessions' cookies are over, for the API and for sockets.
    for cookie in [&ada, &on_phone] {
        let (status, answer) = api(&edge, "GET", "/api/v1/agent/me", Some(cookie), None)?;
        assert_eq!((status, code(&answer)), (401, "unauthorized"), "{answer}");
        assert_eq!(desk_upgrade_status(&edge, cookie).await?, 401);
    }
    // The old password no longer signs in; the new one does, and its session works.
    let body = json!({"email": DEMO_AGENTS[0].0, "password": DEMO_PASSWORD});
    let (status, _) = api(&edge, "POST", "/api/v1/agent/session", None, Some(body))?;
    assert_eq!(status, 401);
    let resp = support::http_client()
        .post(&edge.url("/api/v1/agent/session"))
        .send_json(json!({"email": DEMO_AGENTS[0].0, "password": "a-brand-new-password"}))?;
    assert_eq!(resp.status().as_u16(), 200);
    let cookie = resp.headers().get("set-cookie").and_then(|c| c.to_str().ok()).context("a cookie")?;
    let fresh = cookie.split(';').next().context("a cookie")?.to_owned();
    let mut desk = DeskPeer::connect(&edge, &fresh).await?;
    desk.expect_none(Duration::from_millis(300), |f| matches!(f, DeskFrame::Error { .. })).await?;
    // Other accounts kept their sessions.
    let (status, _) = api(&edge, "GET", "/api/v1/agent/me", Some(&admin), None)?;
    assert_eq!(status, 200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_change_closes_the_desk_which_comes_back_with_the_new_role() -> Result<()> {
    let edge = staff_edge("sessions-role")?;
    let admin = sign_in(&edge, DEMO_ADMIN.0)?;
    let margaret = sign_in(&edge, DEMO_SUPERVISOR.0)?;
    let ada = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let mut margaret_desk = DeskPeer::connect(&edge, &margaret).await?;
    margaret_desk.expect(|f| matches!(f, DeskFrame::Overview { .. })).await?;
    let mut ada_desk = DeskPeer::connect(&edge, &ada).await?;
    let mut grace_desk = DeskPeer::connect(&edge, &sign_in(&edge, DEMO_AGENTS[1].0)?).await?;

    // Margaret becomes an agent, Ada a supervisor: both desktops are closed with "role changed" (the
    // desktop reloads on it); Grace, unchanged, stays connected.
    for (id, role) in [("margaret", "agent"), ("ada", "supervisor")] {
        let path = format!("/api/v1/admin/agents/{id}");
        let (status, answer) = api(&edge, "PATCH", &path, Some(&admin), Some(json!({"role": role})))?;
        assert_eq!(status, 200, "{answer}");
    }
    assert_eq!(margaret_desk.closed_with().await?, Some(close_code::ROLE_CHANGED));
    assert_eq!(ada_desk.closed_with().await?, Some(close_code::ROLE_CHANGED));
    grace_desk.expect(|f| matches!(f, DeskFrame::SiteChanged)).await?;
    grace_desk.expect_none(Duration::from_millis(500), |f| matches!(f, DeskFrame::Overview { .. })).await?;

    // Back with the same sessions: Margaret no longer gets the overview, Ada does.
    let mut margaret_desk = DeskPeer::connect(&edge, &margaret).await?;
    let mut ada_desk = DeskPeer::connect(&edge, &ada).await?;
    ada_desk.expect(|f| matches!(f, DeskFrame::Overview { .. })).await?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say("Is anyone there?").await?;
    ada_desk.expect(|f| matches!(f, DeskFrame::Overview { overview } if overview.queues.iter().any(|q| q.waiting > 0))).await?;
    margaret_desk
        .expect_none(Duration::from_millis(800), |f| matches!(f, DeskFrame::Overview { .. }))
        .await?;
    let (status, answer) = api(&edge, "GET", "/api/v1/records", Some(&margaret), None)?;
    assert_eq!((status, code(&answer)), (403, "forbidden"), "{answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_agent_loses_every_conversation_socket_it_opened() -> Result<()> {
    let edge = staff_edge("sessions-deactivated")?;
    let admin = sign_in(&edge, DEMO_ADMIN.0)?;
    let (ada, mut ada_desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;

    // A chat Ada holds, and a finished one she only reads.
    let held = start_chat(&edge, DEMO_SITE)?;
    let mut contact = Peer::connect(&edge, &held.interaction.to_string(), None).await?;
    contact.hello(Some(&held.contact_token), None).await?;
    contact.say("Where is my order?").await?;
    ada_desk.offered(held.interaction).await?;
    ada_desk.accept(held.interaction).await?;
    let mut ada_held = Peer::agent(&edge, &held.interaction.to_string(), &ada).await?;
    ada_held.hello(None, None).await?;

    let finished = start_chat(&edge, DEMO_SITE)?;
    let mut other = Peer::connect(&edge, &finished.interaction.to_string(), None).await?;
    other.hello(Some(&finished.contact_token), None).await?;
    other.say("Thanks, all good").await?;
    ada_desk.offered(finished.interaction).await?;
    ada_desk.accept(finished.interaction).await?;
    let mut closing = Peer::agent(&edge, &finished.interaction.to_string(), &ada).await?;
    closing.hello(None, None).await?;
    closing.send(&ClientFrame::End).await?;
    closing.send(&ClientFrame::Complete).await?;
    closing.expect(|f| matches!(f, ServerFrame::Event { event: Event::Completed { .. } })).await?;
    drop(closing);
    let mut ada_reading = Peer::agent(&edge, &finished.interaction.to_string(), &ada).await?;
    ada_reading.hello(None, None).await?;

    let (status, answer) =
        api(&edge, "PATCH", "/api/v1/admin/agents/ada", Some(&admin), Some(json!({"active": false})))?;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ada_desk.closed_with().await?, Some(close_code::SIGNED_OUT));
    assert_eq!(ada_held.closed_with().await?, Some(close_code::SIGNED_OUT), "the chat she held");
    // And the one she only read: told why, and closed, so it neither reads on nor can write a follow-up.
    let told = ada_reading.expect(|f| matches!(f, ServerFrame::Error { .. })).await?;
    assert!(
        matches!(&told, ServerFrame::Error { code: ErrorCode::Unauthorized, message } if message.contains("deactivated")),
        "{told:?}"
    );
    assert_eq!(ada_reading.closed_with().await?, Some(close_code::SIGNED_OUT), "the chat she only read");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_every_session_of_the_account_and_closes_every_socket_it_opened() -> Result<()> {
    let edge = staff_edge("sessions-sign-out")?;
    let (grace, mut grace_desk) = ready_agent(&edge, DEMO_AGENTS[1].0).await?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say("Hello?").await?;
    grace_desk.offered(chat.interaction).await?;
    grace_desk.accept(chat.interaction).await?;
    let mut grace_chat = Peer::agent(&edge, &chat.interaction.to_string(), &grace).await?;

    // Ada, not Ready, reads Grace's chat, on her desktop and with a second session (her phone).
    let ada = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let on_phone = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let mut ada_desk = DeskPeer::connect(&edge, &ada).await?;
    let mut ada_reading = Peer::agent(&edge, &chat.interaction.to_string(), &ada).await?;
    let mut phone_reading = Peer::agent(&edge, &chat.interaction.to_string(), &on_phone).await?;
    contact.say("Still there?").await?;
    for reading in [&mut ada_reading, &mut phone_reading] {
        reading
            .expect(|f| matches!(f, ServerFrame::Message { message } if message.text == "Still there?"))
            .await?;
    }

    let (status, answer) = api(&edge, "DELETE", "/api/v1/agent/session", Some(&ada), None)?;
    assert_eq!(status, 204, "{answer}");
    assert_eq!(ada_desk.closed_with().await?, Some(close_code::SIGNED_OUT));
    for reading in [&mut ada_reading, &mut phone_reading] {
        let told = reading.expect(|f| matches!(f, ServerFrame::Error { .. })).await?;
        assert!(format!("{told:?}").contains("signed out"), "{told:?}");
        assert_eq!(reading.closed_with().await?, Some(close_code::SIGNED_OUT));
    }
    // Neither session opens anything any more, though both cookies are genuinely signed and not expired.
    for cookie in [&ada, &on_phone] {
        let (status, answer) = api(&edge, "GET", "/api/v1/agent/me", Some(cookie), None)?;
        assert_eq!((status, code(&answer)), (401, "unauthorized"), "{answer}");
        assert!(answer.to_string().contains("signed out"), "{answer}");
        assert_eq!(desk_upgrade_status(&edge, cookie).await?, 401);
    }

    // Grace, on the same chat, goes on as before; Ada signs in again and reads it again.
    contact.say("Hello again").await?;
    grace_chat
        .expect(|f| matches!(f, ServerFrame::Message { message } if message.text == "Hello again"))
        .await?;
    let (status, _) = api(&edge, "GET", "/api/v1/agent/me", Some(&grace), None)?;
    assert_eq!(status, 200);
    let ada_again = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let (status, answer) = api(&edge, "GET", "/api/v1/agent/me", Some(&ada_again), None)?;
    assert_eq!(status, 200, "{answer}");
    let mut reading_again = Peer::agent(&edge, &chat.interaction.to_string(), &ada_again).await?;
    contact.say("One more thing").await?;
    reading_again
        .expect(|f| matches!(f, ServerFrame::Message { message } if message.text == "One more thing"))
        .await?;
    Ok(())
}

/// A contact's token answered: `(status, error code, message, the answer)` for a chat start with it, or for
/// the contact's own session (`GET .../contact`).
fn with_contact_token(edge: &Edge, token: &str, start: bool) -> Result<(u16, String, serde_json::Value)> {
    let agent = support::http_client();
    let mut resp = if start {
        agent
            .post(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/chats")))
            .send_json(json!({"contact_token": token}))?
    } else {
        agent
            .get(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/contact")))
            .header("authorization", &format!("Bearer {token}"))
            .call()?
    };
    let status = resp.status().as_u16();
    let answer: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string()?).unwrap_or_default();
    let message = answer["error"]["message"].as_str().unwrap_or("").to_owned();
    Ok((status, message, answer))
}

/// When a contact token was issued, as it says.
fn issued_at(token: &str) -> Result<i64> {
    let payload = B64.decode(token.split('.').next().context("a payload")?)?;
    let claim: serde_json::Value = serde_json::from_slice(&payload)?;
    claim["issued_at"].as_i64().context("issued_at")
}

/// Says hello with `token` on `interaction`: the welcome if it opens it, else the socket is refused.
async fn hello_with(edge: &Edge, interaction: &str, token: &str) -> Result<Option<ServerFrame>> {
    let mut peer = Peer::connect(edge, interaction, None).await?;
    match peer.hello(Some(token), None).await? {
        welcome @ ServerFrame::Welcome { .. } => Ok(Some(welcome)),
        ServerFrame::Error { code: ErrorCode::Unauthorized, .. } => {
            assert_eq!(peer.closed_with().await?, Some(4401));
            Ok(None)
        }
        other => anyhow::bail!("unexpected {other:?}"),
    }
}

/// Contact tokens end too: each lasts half a year from when it was issued and is renewed while in use (a
/// welcome and the contact's own session hand out a fresh one); a verified user's tokens end when the site
/// changes its identity secret, so a user proven under the old secret must identify again, while an
/// anonymous visitor's token is unaffected; a genuinely signed token past its lifetime opens nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contact_tokens_expire_are_renewed_in_use_and_a_verified_users_end_with_the_identity_secret()
-> Result<()> {
    const IDENTITY_SECRET: &str = "shop-backend-secret";
    let mut site = demo_site_with_staff("http://127.0.0.1:9");
    site["identity"] = json!({"secret": IDENTITY_SECRET, "required": false});
    let edge = edge_with_site("sessions-contact-tokens", site)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(IDENTITY_SECRET.as_bytes())?;
    mac.update(b"42");
    let signature: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let identity = json!({"identity": {"user_id": "42", "signature": signature}});
    let (status, user) =
        api(&edge, "POST", &format!("/api/v1/sites/{DEMO_SITE}/chats"), None, Some(identity))?;
    assert_eq!(status, 201, "{user}");
    let user_chat = user["interaction"].as_str().context("interaction")?.to_owned();
    let user_token = user["contact_token"].as_str().context("token")?.to_owned();

    // In use, a token is renewed: the welcome carries a fresh one, which opens the conversation as well.
    let before = now_ms()? - 1_000;
    let Some(ServerFrame::Welcome { contact_token: Some(renewed), .. }) =
        hello_with(&edge, &user_chat, &user_token).await?
    else {
        anyhow::bail!("the welcome renews the contact's token");
    };
    assert!(issued_at(&renewed)? >= before, "issued now");
    assert!(hello_with(&edge, &user_chat, &renewed).await?.is_some());
    let visitor = start_chat(&edge, DEMO_SITE)?;
    let (status, _, session) = with_contact_token(&edge, &visitor.contact_token, false)?;
    assert_eq!(status, 200, "{session}");
    let fresh = session["contact_token"].as_str().context("the contact session renews the token")?;
    assert!(issued_at(fresh)? >= before);

    // The site changes its identity secret: the verified user's tokens, old and renewed, open nothing.
    let admin = sign_in(&edge, DEMO_ADMIN.0)?;
    let (status, answer) = api(&edge, "POST", "/api/v1/admin/site/identity-secret", Some(&admin), None)?;
    assert_eq!(status, 200, "{answer}");
    for token in [&user_token, &renewed] {
        for start in [true, false] {
            let (status, message, _) = with_contact_token(&edge, token, start)?;
            assert_eq!(status, 401, "start {start}: {message}");
            assert!(message.contains("identity secret"), "{message}");
        }
        assert!(hello_with(&edge, &user_chat, token).await?.is_none(), "no socket opens with it");
    }
    // An anonymous visitor's token is not tied to the identity secret.
    assert!(hello_with(&edge, &visitor.interaction.to_string(), &visitor.contact_token).await?.is_some());
    assert_eq!(with_contact_token(&edge, fresh, true)?.0, 201);

    // Genuinely signed, but issued longer ago than a token lasts: refused, saying so.
    let contact = session["contact"].as_str().context("the visitor")?;
    let long_ago = now_ms()? - confab_protocol::contact::CONTACT_TOKEN_LIFETIME_MS - 60_000;
    let claim = json!({"site": DEMO_SITE, "contact": contact, "issued_at": long_ago}).to_string();
    let expired = edge_signed(&edge, "confab contact v2\n", &claim)?;
    let (status, message, _) = with_contact_token(&edge, &expired, true)?;
    assert_eq!((status, message.contains("expired")), (401, true), "{message}");
    assert!(hello_with(&edge, &visitor.interaction.to_string(), &expired).await?.is_none());
    // The same claim issued now opens it: the refusal above was its age alone.
    let current = json!({"site": DEMO_SITE, "contact": contact, "issued_at": now_ms()?}).to_string();
    let current = edge_signed(&edge, "confab contact v2\n", &current)?;
    assert!(hello_with(&edge, &visitor.interaction.to_string(), &current).await?.is_some());
    Ok(())
}
