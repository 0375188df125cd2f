//! Asynchronous chat on a real workerd: a contact who comes back keeps one history; agents list contacts,
//! read and search a contact's conversations and export a transcript; nobody reads another site's history.

mod support;

use anyhow::{Context, Result};
use confab_protocol::api::{ChatStarted, ContactHistory, ContactSummary, ConversationTranscript};
use confab_protocol::frames::ServerFrame;
use confab_tests::{DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE};
use serde_json::json;
use support::{Peer, edge_with_demo, sign_in};

fn get(edge: &confab_tests::Edge, path: &str, cookie: Option<&str>) -> Result<(u16, String)> {
    let mut request = ureq::get(&edge.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    match request.call() {
        Ok(mut resp) => Ok((resp.status().as_u16(), resp.body_mut().read_to_string()?)),
        Err(ureq::Error::StatusCode(code)) => Ok((code, String::new())),
        Err(e) => Err(e.into()),
    }
}

async fn chat_and_say(
    edge: &confab_tests::Edge,
    contact_token: Option<&str>,
    text: &str,
) -> Result<ChatStarted> {
    let body = match contact_token {
        Some(token) => json!({"contact_token": token}),
        None => json!({}),
    };
    let mut resp = ureq::post(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/chats"))).send_json(body)?;
    let chat: ChatStarted = resp.body_mut().read_json()?;
    let mut contact = Peer::connect(edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say(text).await?;
    contact.expect(|f| matches!(f, ServerFrame::Ack { .. })).await?;
    Ok(chat)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_returning_contact_keeps_one_history_that_agents_can_read_search_and_export() -> Result<()> {
    let edge = edge_with_demo("history", "http://127.0.0.1:9")?;
    let first = chat_and_say(&edge, None, "My invoice 1142 is wrong").await?;
    // Days later the same browser starts a new chat: same contact, new conversation.
    let second =
        chat_and_say(&edge, Some(&first.contact_token), "About INVOICE 1142 again, still wrong").await?;
    assert_ne!(first.interaction, second.interaction);
    // The token opens both conversations of this contact.
    let mut back = Peer::connect(&edge, &first.interaction.to_string(), None).await?;
    assert!(matches!(back.hello(Some(&second.contact_token), None).await?, ServerFrame::Welcome { .. }));
    // Someone else's chat is refused with a contact token of another contact.
    let stranger = chat_and_say(&edge, None, "hello").await?;
    let mut intruder = Peer::connect(&edge, &first.interaction.to_string(), None).await?;
    assert!(matches!(intruder.hello(Some(&stranger.contact_token), None).await?, ServerFrame::Error { .. }));
    // A forged or foreign token cannot be used to start chats as someone else.
    let forged = ureq::post(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/chats")))
        .send_json(json!({"contact_token": "bm90LWEtdG9rZW4.c2ln"}));
    assert!(matches!(forged, Err(ureq::Error::StatusCode(401))));

    let cookie = sign_in(&edge, DEMO_AGENTS[0].0)?;
    assert_eq!(get(&edge, "/api/v1/contacts", None)?.0, 401, "history needs an agent session");
    let (status, body) = get(&edge, "/api/v1/contacts", Some(&cookie))?;
    assert_eq!(status, 200);
    let contacts: Vec<ContactSummary> = serde_json::from_str(&body)?;
    let contact = contacts
        .iter()
        .find(|c| c.conversations == 2)
        .context("the returning contact with 2 conversations")?;
    assert_eq!(contacts.len(), 2);

    let (status, body) =
        get(&edge, &format!("/api/v1/contacts/{}/history", contact.contact.0), Some(&cookie))?;
    assert_eq!(status, 200);
    let history: ContactHistory = serde_json::from_str(&body)?;
    let ids: Vec<_> = history.conversations.iter().map(|c| c.interaction).collect();
    assert_eq!(ids, vec![first.interaction, second.interaction], "oldest first");
    assert_eq!(history.conversations[0].messages[0].text, "My invoice 1142 is wrong");

    let (_, body) = get(
        &edge,
        &format!("/api/v1/contacts/{}/history?q=invoice%20wrong", contact.contact.0),
        Some(&cookie),
    )?;
    let searched: ContactHistory = serde_json::from_str(&body)?;
    let hits = searched.hits.context("a search answers hits")?;
    assert_eq!(
        hits.iter().map(|h| h.interaction).collect::<Vec<_>>(),
        vec![second.interaction, first.interaction]
    );
    let text = &hits[0].message.text;
    let highlighted: Vec<&str> = hits[0].ranges.iter().map(|(s, e)| &text[*s..*e]).collect();
    assert_eq!(highlighted, vec!["INVOICE", "wrong"]);

    let (status, body) =
        get(&edge, &format!("/api/v1/chats/{}/transcript", first.interaction), Some(&cookie))?;
    assert_eq!(status, 200);
    let transcript: ConversationTranscript = serde_json::from_str(&body)?;
    assert_eq!(transcript.messages.len(), 1);
    let (status, text) =
        get(&edge, &format!("/api/v1/chats/{}/transcript?format=text", first.interaction), Some(&cookie))?;
    assert_eq!(status, 200);
    assert!(text.contains(": My invoice 1142 is wrong"), "{text}");

    // An agent of another site sees none of it.
    edge.seed_site(
        "other",
        &json!({"name": "Other", "allowed_origins": [], "agents": [
            {"id": "olga", "name": "Olga", "email": "olga@other.confab.test", "password": DEMO_PASSWORD}]}),
    )?;
    let other = sign_in(&edge, "olga@other.confab.test")?;
    let (_, body) = get(&edge, "/api/v1/contacts", Some(&other))?;
    assert_eq!(serde_json::from_str::<Vec<ContactSummary>>(&body)?.len(), 0);
    assert_eq!(get(&edge, &format!("/api/v1/contacts/{}/history", contact.contact.0), Some(&other))?.0, 404);
    assert_eq!(get(&edge, &format!("/api/v1/chats/{}/transcript", first.interaction), Some(&other))?.0, 404);
    Ok(())
}
