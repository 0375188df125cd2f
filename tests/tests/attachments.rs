//! Attachments on a real workerd with R2 as `wrangler dev` simulates it: upload, send, signed download, and
//! every refusal (type by name, type by content, size, missing length, wrong credentials, forged links).

mod support;

use anyhow::{Context, Result};
use confab_protocol::attachments::{FileKind, MAX_ATTACHMENT_BYTES};
use confab_protocol::frames::{Attachment, ClientFrame, ErrorCode, ServerFrame};
use confab_protocol::ids::ClientMessageId;
use confab_tests::{DEMO_AGENTS, DEMO_SITE, Edge};
use serde_json::json;
use std::io::{Read, Write};
use support::{Peer, edge_with_demo, sign_in, start_chat};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

fn upload(edge: &Edge, interaction: &str, name: &str, token: &str, body: &[u8]) -> Result<(u16, String)> {
    let url = edge.url(&format!("/api/v1/chats/{interaction}/attachments?name={name}"));
    match ureq::post(&url).header("authorization", &format!("Bearer {token}")).send(body) {
        Ok(mut resp) => Ok((resp.status().as_u16(), resp.body_mut().read_to_string()?)),
        Err(ureq::Error::StatusCode(code)) => Ok((code, String::new())),
        Err(e) => Err(e.into()),
    }
}

/// Sends a raw request (for headers an HTTP client would not let us set) with a body that starts with
/// `start` and is padded with zeros to `length` bytes, and returns the status code.
fn raw_status(edge: &Edge, head: &str, start: &[u8], length: u64) -> Result<u16> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", edge.port()))?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    stream.write_all(head.as_bytes())?;
    stream.write_all(start)?;
    // wrangler's local proxy only hands a request to workerd once its whole body has arrived (Cloudflare's
    // edge refuses oversized uploads itself), so the padding is really sent: ~100 MiB over loopback.
    let zeros = vec![0u8; 1 << 20];
    let mut sent = start.len() as u64;
    while sent < length {
        let n = (length - sent).min(zeros.len() as u64) as usize;
        stream.write_all(&zeros[..n])?;
        sent += n as u64;
    }
    let mut buf = [0u8; 64];
    let n = stream.read(&mut buf)?;
    let line = String::from_utf8_lossy(&buf[..n]);
    line.split_whitespace().nth(1).context("no status line")?.parse().context("bad status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_are_checked_stored_sent_and_downloaded_through_signed_links() -> Result<()> {
    let edge = edge_with_demo("attachments", "http://127.0.0.1:9")?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let id = chat.interaction.to_string();
    let token = chat.contact_token.clone();

    let (status, body) = upload(&edge, &id, "mug%20photo.png", &token, PNG)?;
    assert_eq!(status, 201, "{body}");
    let uploaded: Attachment = serde_json::from_str(&body)?;
    assert_eq!(
        (uploaded.name.as_str(), uploaded.size, uploaded.kind),
        ("mug photo.png", PNG.len() as u64, FileKind::Png)
    );

    // A message of just the file: the edge describes it from what it stored, not from the client's claim.
    let mut contact = Peer::connect(&edge, &id, None).await?;
    contact.hello(Some(&token), None).await?;
    let claimed = Attachment { name: "lies.exe".into(), size: 1, ..uploaded.clone() };
    contact
        .send(&ClientFrame::Send {
            client_id: ClientMessageId(uuid::Uuid::new_v4()),
            text: String::new(),
            attachments: vec![claimed],
        })
        .await?;
    let sent = contact.expect(|f| matches!(f, ServerFrame::Message { .. })).await?;
    let ServerFrame::Message { message } = sent else { unreachable!() };
    assert_eq!(message.attachments, vec![uploaded.clone()]);
    // A file that was never uploaded here cannot be sent.
    let bogus = Attachment { id: "0123456789abcdef0123456789abcdef".into(), ..uploaded.clone() };
    contact
        .send(&ClientFrame::Send {
            client_id: ClientMessageId(uuid::Uuid::new_v4()),
            text: "x".into(),
            attachments: vec![bogus],
        })
        .await?;
    assert!(matches!(
        contact.expect(|f| matches!(f, ServerFrame::Error { .. })).await?,
        ServerFrame::Error { code: ErrorCode::NotFound, .. }
    ));

    // Download through a short-lived link, for the contact and for an agent of the site.
    let link_path = format!("/api/v1/chats/{id}/attachments/{}/link", uploaded.id);
    let mut resp =
        ureq::get(&edge.url(&link_path)).header("authorization", &format!("Bearer {token}")).call()?;
    let link: serde_json::Value = resp.body_mut().read_json()?;
    let url = link["url"].as_str().context("a url")?.to_owned();
    let mut file = ureq::get(&edge.url(&url)).call()?;
    assert_eq!(file.headers().get("content-type").and_then(|v| v.to_str().ok()), Some("image/png"));
    assert!(
        file.headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|d| d.starts_with("inline"))
    );
    assert_eq!(file.body_mut().read_to_vec()?, PNG);
    let agent = sign_in(&edge, DEMO_AGENTS[0].0)?;
    assert!(ureq::get(&edge.url(&link_path)).header("cookie", &agent).call().is_ok());
    // A name beyond Latin-1 downloads under that name (RFC 6266 `filename*`), not as a server error.
    let (status, answer) = upload(&edge, &id, "%C3%9Cbersicht%20%E6%9C%88.png", &token, PNG)?;
    assert_eq!(status, 201, "{answer}");
    let named: Attachment = serde_json::from_str(&answer)?;
    assert_eq!(named.name, "Übersicht 月.png");
    let mut resp = ureq::get(&edge.url(&format!("/api/v1/chats/{id}/attachments/{}/link", named.id)))
        .header("authorization", &format!("Bearer {token}"))
        .call()?;
    let link: serde_json::Value = resp.body_mut().read_json()?;
    let file = ureq::get(&edge.url(link["url"].as_str().context("a url")?)).call()?;
    let disposition = file.headers().get("content-disposition").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert_eq!(
        disposition,
        "inline; filename=\"_bersicht _.png\"; filename*=UTF-8''%C3%9Cbersicht%20%E6%9C%88.png"
    );
    // A forged or altered link is refused.
    let forged = url.replace("exp=", "exp=9");
    assert!(matches!(ureq::get(&edge.url(&forged)).call(), Err(ureq::Error::StatusCode(401))));

    // Refusals, each with its status and code.
    let (status, _) = upload(&edge, &id, "setup.exe", &token, b"MZ\x90\0")?;
    assert_eq!(status, 415, "type not allowed by name");
    let (status, _) = upload(&edge, &id, "holiday.png", &token, b"MZ\x90\0\x03\0\0\0 not a png")?;
    assert_eq!(status, 415, "a renamed file is refused by content");
    let other = start_chat(&edge, DEMO_SITE)?;
    let (status, _) = upload(&edge, &id, "a.png", &other.contact_token, PNG)?;
    assert_eq!(status, 401, "another contact's token");
    let host = format!("127.0.0.1:{}", edge.port());
    let too_big = format!(
        "POST /api/v1/chats/{id}/attachments?name=big.png HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        MAX_ATTACHMENT_BYTES + 1
    );
    assert_eq!(raw_status(&edge, &too_big, PNG, MAX_ATTACHMENT_BYTES + 1)?, 413, "over 100 MiB is refused");
    let lengthless = format!(
        "POST /api/v1/chats/{id}/attachments?name=a.png HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    assert_eq!(raw_status(&edge, &lengthless, b"", 0)?, 400, "an empty upload is refused");
    Ok(())
}

/// Who uploads, for the quota test: a contact (its token) or an agent (its session cookie).
enum As<'a> {
    Contact(&'a str),
    Agent(&'a str),
}

/// Uploads a 1x1 PNG and answers the status, the error code (empty on success) and message, and whether a
/// `Retry-After` came with it.
fn upload_png(edge: &Edge, interaction: &str, who: As<'_>) -> Result<(u16, String, String, bool)> {
    let url = edge.url(&format!("/api/v1/chats/{interaction}/attachments?name=shot.png"));
    let request = match who {
        As::Contact(token) => {
            support::http_client().post(&url).header("authorization", &format!("Bearer {token}"))
        }
        As::Agent(cookie) => support::http_client().post(&url).header("cookie", cookie),
    };
    let mut resp = request.send(PNG)?;
    let retry = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let status = resp.status().as_u16();
    let answer: serde_json::Value =
        serde_json::from_str(&resp.body_mut().read_to_string()?).unwrap_or_default();
    let message = answer["error"]["message"].as_str().unwrap_or("").to_owned();
    Ok((status, support::code(&answer).to_owned(), message, retry.is_some_and(|s| s > 0)))
}

/// Nobody fills a site's storage: a contact's files count against its own day's quota over all its
/// conversations, its address's (new visitors from one network add up) and the site's; an agent's against
/// its own and the site's. Beyond one, the upload is `429 upload_quota`, saying whose quota and when
/// another file fits, with a `Retry-After`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_count_against_the_days_quotas_of_the_contact_its_address_the_agent_and_the_site()
-> Result<()> {
    let mut site = confab_tests::demo_site_with_staff("http://127.0.0.1:9");
    let quota = |files: u32| json!({"files": files, "megabytes": 100});
    site["rules"] = json!({"uploads": {
        "per_contact": quota(2), "per_address": quota(3), "per_agent": quota(2), "per_site": quota(5)}});
    let edge = support::edge_with_site("attachments-quotas", site)?;
    let over = |answer: (u16, String, String, bool), whose: &str| {
        assert_eq!((answer.0, answer.1.as_str(), answer.3), (429, "upload_quota", true), "{answer:?}");
        assert!(answer.2.starts_with(whose) && answer.2.contains("another fits in"), "{answer:?}");
    };

    // A contact: two files, then its quota is used, in this conversation and in its next one.
    let first = start_chat(&edge, DEMO_SITE)?;
    let chat = first.interaction.to_string();
    for _ in 0..2 {
        assert_eq!(upload_png(&edge, &chat, As::Contact(&first.contact_token))?.0, 201);
    }
    over(upload_png(&edge, &chat, As::Contact(&first.contact_token))?, "you have sent as many files today");
    let (status, answer) = support::api(
        &edge,
        "POST",
        &format!("/api/v1/sites/{DEMO_SITE}/chats"),
        None,
        Some(json!({"contact_token": first.contact_token})),
    )?;
    assert_eq!(status, 201, "{answer}");
    let again = answer["interaction"].as_str().context("interaction")?.to_owned();
    over(upload_png(&edge, &again, As::Contact(&first.contact_token))?, "you have sent as many files today");

    // A new visitor from the same address: one file, then the address's quota is used.
    let second = start_chat(&edge, DEMO_SITE)?;
    let other = second.interaction.to_string();
    assert_eq!(upload_png(&edge, &other, As::Contact(&second.contact_token))?.0, 201);
    over(
        upload_png(&edge, &other, As::Contact(&second.contact_token))?,
        "as many files as this site allows have been sent from your network",
    );

    // An agent: two files (the site's fourth and fifth), then its own quota; another agent meets the site's.
    let ada = sign_in(&edge, DEMO_AGENTS[0].0)?;
    for _ in 0..2 {
        assert_eq!(upload_png(&edge, &chat, As::Agent(&ada))?.0, 201);
    }
    over(upload_png(&edge, &chat, As::Agent(&ada))?, "you have sent as many files today");
    let grace = sign_in(&edge, DEMO_AGENTS[1].0)?;
    over(
        upload_png(&edge, &chat, As::Agent(&grace))?,
        "this site has taken as many files today as it allows",
    );
    Ok(())
}

/// A file is kept only with the message that sends it: one uploaded and never sent, or sent with a message
/// that was refused, is deleted once it has waited its time (here 3 s, `CONFAB_UNSENT_FILES_KEPT_MS`; a day
/// unless set), while a sent one stays downloadable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_no_message_sends_is_deleted_after_its_wait_and_a_sent_one_is_kept() -> Result<()> {
    let paths = confab_tests::Paths::new();
    let mut options = confab_tests::EdgeOptions::for_test(&paths, "attachments-unsent")?;
    options.vars.push(("CONFAB_UNSENT_FILES_KEPT_MS".into(), "3000".into()));
    let edge = Edge::start(&paths, options)?;
    edge.seed_site(DEMO_SITE, &confab_tests::demo_site("http://127.0.0.1:9"))?;
    let chat = start_chat(&edge, DEMO_SITE)?;
    let id = chat.interaction.to_string();
    let token = chat.contact_token.clone();
    let mut contact = Peer::connect(&edge, &id, None).await?;
    contact.hello(Some(&token), None).await?;
    let uploaded = |name: &str| -> Result<Attachment> {
        let (status, body) = upload(&edge, &id, name, &token, PNG)?;
        anyhow::ensure!(status == 201, "upload of {name}: {status} {body}");
        Ok(serde_json::from_str(&body)?)
    };
    let sent = uploaded("sent.png")?;
    let abandoned = uploaded("abandoned.png")?;
    let refused = uploaded("refused.png")?;
    let client_id = ClientMessageId(uuid::Uuid::new_v4());
    let text = "Here it is".to_owned();
    contact.send(&ClientFrame::Send { client_id, text, attachments: vec![sent.clone()] }).await?;
    contact.expect(|f| matches!(f, ServerFrame::Ack { client_id: c, .. } if *c == client_id)).await?;
    let too_long = "x".repeat(confab_protocol::validate::MAX_MESSAGE_CHARS + 1);
    let frame = ClientFrame::Send {
        client_id: ClientMessageId(uuid::Uuid::new_v4()),
        text: too_long,
        attachments: vec![refused.clone()],
    };
    contact.send(&frame).await?;
    contact.expect(|f| matches!(f, ServerFrame::Error { code: ErrorCode::MessageTooLong, .. })).await?;

    let link_status = |file: &Attachment| -> Result<u16> {
        let path = format!("/api/v1/chats/{id}/attachments/{}/link", file.id);
        let resp = support::http_client()
            .get(&edge.url(&path))
            .header("authorization", &format!("Bearer {token}"))
            .call()?;
        Ok(resp.status().as_u16())
    };
    assert_eq!(link_status(&abandoned)?, 200, "kept while its message may still come");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    // Each waits its own time from its own upload (the sweep may take them in two rounds).
    for (file, what) in [(&abandoned, "the abandoned file"), (&refused, "the refused message's file")] {
        while link_status(file)? != 404 {
            anyhow::ensure!(std::time::Instant::now() < deadline, "{what} was never deleted");
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    }
    assert_eq!(link_status(&sent)?, 200, "the sent file stays");
    Ok(())
}
