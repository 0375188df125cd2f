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
