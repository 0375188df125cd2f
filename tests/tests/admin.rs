//! Site administration and supervision on a real workerd: who may reach which endpoint by role, the first-run
//! setup, settings and accounts that apply at once, the supervisor's live overview, interaction records, and
//! erasing a contact's data (attachments included).

mod support;

use anyhow::{Context, Result, bail};
use confab_protocol::admin::{AgentAccount, IdentitySecret, SiteAdminView};
use confab_protocol::api::{ChatStarted, RecordSummary};
use confab_protocol::frames::{ClientFrame, DeskFrame, ServerFrame};
use confab_tests::{
    DEMO_ADMIN, DEMO_AGENTS, DEMO_PASSWORD, DEMO_SITE, DEMO_SUPERVISOR, Edge, demo_site_with_staff,
};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::{DeskPeer, Peer, api, code, edge_with_site, ready_agent, sign_in, start_chat, upload_photo};

fn staff_edge(name: &str) -> Result<Edge> {
    edge_with_site(name, demo_site_with_staff("http://127.0.0.1:9"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_reaches_only_its_endpoints() -> Result<()> {
    let edge = staff_edge("admin-roles")?;
    let agent = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let supervisor = sign_in(&edge, DEMO_SUPERVISOR.0)?;
    let admin = sign_in(&edge, DEMO_ADMIN.0)?;
    // Another site with its own admin: it sees and changes only its own site.
    let mut other = demo_site_with_staff("http://127.0.0.1:9");
    for (i, agent) in other["agents"].as_array_mut().context("agents")?.iter_mut().enumerate() {
        agent["email"] = json!(format!("other{i}@elsewhere.test"));
    }
    edge.seed_site("elsewhere", &other)?;
    let other_admin = sign_in(&edge, "other3@elsewhere.test")?;

    let admin_only: [(&str, &str, Option<Value>); 6] = [
        ("GET", "/api/v1/admin/site", None),
        ("PUT", "/api/v1/admin/site", Some(json!({"name": "X", "allowed_origins": []}))),
        ("POST", "/api/v1/admin/site/identity-secret", None),
        (
            "POST",
            "/api/v1/admin/agents",
            Some(json!({"id": "x", "name": "X", "email": "x@x.test", "password": "12345678"})),
        ),
        ("PATCH", "/api/v1/admin/agents/ada", Some(json!({"capacity": 2}))),
        ("DELETE", "/api/v1/contacts/v-nobody", None),
    ];
    for (method, path, body) in &admin_only {
        let (status, answer) = api(&edge, method, path, None, body.clone())?;
        assert_eq!((status, code(&answer)), (401, "unauthorized"), "anonymous {method} {path}");
        for (who, cookie) in [("agent", &agent), ("supervisor", &supervisor)] {
            let (status, answer) = api(&edge, method, path, Some(cookie), body.clone())?;
            assert_eq!((status, code(&answer)), (403, "forbidden"), "{who} {method} {path}: {answer}");
        }
    }
    // Records: supervisors and admins, not agents.
    assert_eq!(api(&edge, "GET", "/api/v1/records", Some(&agent), None)?.0, 403);
    assert_eq!(api(&edge, "GET", "/api/v1/records", Some(&supervisor), None)?.0, 200);
    assert_eq!(api(&edge, "GET", "/api/v1/records", Some(&admin), None)?.0, 200);
    assert_eq!(api(&edge, "GET", "/api/v1/records", None, None)?.0, 401);
    // The admin reaches the admin endpoints, for its own site only.
    let (status, view) = api(&edge, "GET", "/api/v1/admin/site", Some(&admin), None)?;
    assert_eq!(status, 200);
    let view: SiteAdminView = serde_json::from_value(view)?;
    assert_eq!(view.site.as_str(), DEMO_SITE);
    assert_eq!(view.agents.len(), 4);
    let (_, other_view) = api(&edge, "GET", "/api/v1/admin/site", Some(&other_admin), None)?;
    assert_eq!(other_view["site"], "elsewhere");
    // An agent id of another site is simply not there for this admin.
    let (status, _) =
        api(&edge, "PATCH", "/api/v1/admin/agents/ada", Some(&other_admin), Some(json!({"capacity": 9})))?;
    assert_eq!(status, 200, "elsewhere has its own ada");
    let (_, mine) = api(&edge, "GET", "/api/v1/admin/site", Some(&admin), None)?;
    assert_eq!(mine["agents"][0]["capacity"], 3, "this site's ada is untouched");
    // The profile says the role.
    let (_, me) = api(&edge, "GET", "/api/v1/agent/me", Some(&supervisor), None)?;
    assert_eq!(me["role"], "supervisor");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_creates_a_site_and_its_admin_with_the_setup_token() -> Result<()> {
    let edge = staff_edge("admin-first-run")?;
    let run = |token: &str, site: &str, email: &str| {
        json!({"setup_token": token, "site": site, "site_name": "Pottery", "name": "Pat Potter",
               "email": email, "password": "a long password"})
    };
    let wrong = api(&edge, "POST", "/api/v1/setup", None, Some(run("guess", "pottery", "pat@pottery.test")))?;
    assert_eq!((wrong.0, code(&wrong.1)), (401, "unauthorized"));
    let token = edge.options.admin_token.clone();
    let taken = api(&edge, "POST", "/api/v1/setup", None, Some(run(&token, DEMO_SITE, "pat@pottery.test")))?;
    assert_eq!((taken.0, code(&taken.1)), (409, "conflict"), "an existing site is not taken over");
    let bad = api(&edge, "POST", "/api/v1/setup", None, Some(run(&token, "My Shop", "pat@pottery.test")))?;
    assert_eq!((bad.0, code(&bad.1)), (400, "bad_request"));
    let stolen = api(&edge, "POST", "/api/v1/setup", None, Some(run(&token, "pottery", DEMO_AGENTS[0].0)))?;
    assert_eq!((stolen.0, code(&stolen.1)), (409, "conflict"), "an email in use elsewhere is refused");

    let agent = support::http_client();
    let resp =
        agent.post(&edge.url("/api/v1/setup")).send_json(run(&token, "pottery", "pat@pottery.test"))?;
    assert_eq!(resp.status().as_u16(), 201);
    let cookie = resp.headers().get("set-cookie").context("signed in")?.to_str()?;
    let cookie = cookie.split(';').next().unwrap_or_default().to_owned();
    let (_, view) = api(&edge, "GET", "/api/v1/admin/site", Some(&cookie), None)?;
    assert_eq!(
        (view["site"].as_str(), view["settings"]["name"].as_str()),
        (Some("pottery"), Some("Pottery"))
    );
    assert_eq!(view["agents"][0]["role"], "admin");
    // The admin can sign in again with the password chosen.
    let again = api(
        &edge,
        "POST",
        "/api/v1/agent/session",
        None,
        Some(json!({"email": "pat@pottery.test", "password": "a long password"})),
    )?;
    assert_eq!((again.0, again.1["role"].as_str()), (200, Some("admin")));
    Ok(())
}

/// The operator's whole-site `PUT` with the admin token, answering its status and JSON.
fn operator_put(edge: &Edge, site: &str, setup: &Value) -> Result<(u16, Value)> {
    let mut resp = support::http_client()
        .put(&edge.url(&format!("/api/v1/admin/sites/{site}")))
        .header("authorization", &format!("Bearer {}", edge.options.admin_token))
        .send_json(setup)?;
    let status = resp.status().as_u16();
    Ok((status, serde_json::from_str(&resp.body_mut().read_to_string()?).unwrap_or(Value::Null)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operators_site_setup_follows_the_account_rules_and_takes_no_email_from_another_site()
-> Result<()> {
    let edge = staff_edge("admin-operator-setup")?;
    let site = |email: &str, password: &str| {
        json!({"name": "Pottery", "allowed_origins": [], "agents": [
            {"id": "pat", "name": "Pat Potter", "email": email, "password": password}]})
    };
    // Ada's email signs in to the demo site: another site cannot take it over, whatever its case.
    let shouted = DEMO_AGENTS[0].0.to_uppercase();
    let (status, answer) = operator_put(&edge, "pottery", &site(&shouted, DEMO_PASSWORD))?;
    assert_eq!((status, code(&answer)), (409, "conflict"), "{answer}");
    let ada = api(
        &edge,
        "POST",
        "/api/v1/agent/session",
        None,
        Some(json!({"email": DEMO_AGENTS[0].0, "password": DEMO_PASSWORD})),
    )?;
    assert_eq!((ada.0, ada.1["site"].as_str()), (200, Some(DEMO_SITE)), "Ada still signs in to her site");
    // Passwords are counted in characters, as an admin's new accounts are: eight two-byte letters do, four
    // do not (eight bytes).
    let (status, answer) = operator_put(&edge, "pottery", &site("pat@pottery.test", "äöüä"))?;
    assert_eq!((status, code(&answer)), (400, "bad_request"), "{answer}");
    let (status, answer) = operator_put(&edge, "pottery", &site("pat@pottery.test", "äöüäöüäö"))?;
    assert_eq!((status, answer["site"].as_str(), answer["agents"].as_u64()), (200, Some("pottery"), Some(1)));
    let pat = api(
        &edge,
        "POST",
        "/api/v1/agent/session",
        None,
        Some(json!({"email": "PAT@pottery.test", "password": "äöüäöüäö"})),
    )?;
    assert_eq!((pat.0, pat.1["site"].as_str()), (200, Some("pottery")));
    // The same site again, replaced at its revision: its own emails are its own.
    let (status, answer) = operator_put_over(
        &edge,
        "pottery",
        &site("pat@pottery.test", "äöüäöüäö"),
        &answer["revision"].to_string(),
    )?;
    assert_eq!(status, 200, "{answer}");
    Ok(())
}

/// The operator's `PUT` with the admin token replacing the site at `revision` (`If-Match`).
fn operator_put_over(edge: &Edge, site: &str, setup: &Value, revision: &str) -> Result<(u16, Value)> {
    let mut resp = support::http_client()
        .put(&edge.url(&format!("/api/v1/admin/sites/{site}")))
        .header("authorization", &format!("Bearer {}", edge.options.admin_token))
        .header("if-match", revision)
        .send_json(setup)?;
    let status = resp.status().as_u16();
    Ok((status, serde_json::from_str(&resp.body_mut().read_to_string()?).unwrap_or(Value::Null)))
}

/// The operator's `GET` of a site with `token`.
fn operator_get(edge: &Edge, site: &str, token: &str) -> Result<(u16, Value)> {
    let mut resp = support::http_client()
        .get(&edge.url(&format!("/api/v1/admin/sites/{site}")))
        .header("authorization", &format!("Bearer {token}"))
        .call()?;
    let status = resp.status().as_u16();
    Ok((status, serde_json::from_str(&resp.body_mut().read_to_string()?).unwrap_or(Value::Null)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_token_creates_sites_and_replaces_one_only_when_asked_at_its_revision() -> Result<()> {
    let edge = staff_edge("admin-operator-replace")?;
    let ada = sign_in(&edge, DEMO_AGENTS[0].0)?;
    let takeover = json!({"name": "Mine now", "allowed_origins": [], "agents": [
        {"id": "ada", "name": "Ada", "email": DEMO_AGENTS[0].0, "password": "the-attackers-password"}]});

    // A PUT over an existing site is refused, and says how to replace it; the site is untouched.
    let (status, answer) = operator_put(&edge, DEMO_SITE, &takeover)?;
    assert_eq!((status, code(&answer)), (409, "conflict"), "{answer}");
    assert!(answer.to_string().contains("If-Match"), "{answer}");
    let (status, _) = api(&edge, "GET", "/api/v1/agent/me", Some(&ada), None)?;
    assert_eq!(status, 200, "Ada's session holds");
    sign_in(&edge, DEMO_AGENTS[0].0).context("Ada's password still signs in")?;

    // Replacing names the revision the site is at now (its GET says which); another revision is refused.
    let (status, answer) = operator_get(&edge, DEMO_SITE, "not-the-token-not-the-token-not-the-token")?;
    assert_eq!((status, code(&answer)), (401, "unauthorized"), "{answer}");
    let (status, found) = operator_get(&edge, DEMO_SITE, &edge.options.admin_token)?;
    assert_eq!((status, found["agents"].as_u64()), (200, Some(4)), "{found}");
    let revision = found["revision"].as_u64().context("a revision")?;
    let (status, answer) = operator_put_over(&edge, DEMO_SITE, &takeover, &(revision + 1).to_string())?;
    assert_eq!((status, code(&answer)), (409, "conflict"), "{answer}");
    let (status, answer) = operator_put_over(&edge, "no-such-site", &takeover, "1")?;
    assert_eq!((status, code(&answer)), (404, "not_found"), "{answer}");
    let (status, answer) = operator_put_over(&edge, DEMO_SITE, &takeover, &format!("\"{revision}\""))?;
    assert_eq!((status, answer["revision"].as_u64()), (200, Some(revision + 1)), "{answer}");
    // The replaced accounts' passwords are new: their sessions are over.
    let (status, answer) = api(&edge, "GET", "/api/v1/agent/me", Some(&ada), None)?;
    assert_eq!((status, code(&answer)), (401, "unauthorized"), "{answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_routes_are_limited_per_address_and_shut_with_a_short_token() -> Result<()> {
    let edge = staff_edge("admin-operator-limits")?;
    let guess = |n: usize| {
        json!({"setup_token": format!("guess-{n}"), "site": "newsite", "site_name": "New", "name": "New Owner",
               "email": "owner@newsite.test", "password": "a long password"})
    };
    // Guessing the setup token: refused, then (within the burst of 20, counting the seeding PUT) slowed down.
    let mut answers = Vec::new();
    for n in 0..25 {
        let (status, answer) = api(&edge, "POST", "/api/v1/setup", None, Some(guess(n)))?;
        answers.push((status, code(&answer).to_owned()));
        if status == 429 {
            break;
        }
    }
    let (last, before) = answers.split_last().context("answers")?;
    assert_eq!(last, &(429, "too_many_requests".to_owned()), "{answers:?}");
    assert!(
        before.len() >= 10 && before.iter().all(|a| *a == (401, "unauthorized".to_owned())),
        "{answers:?}"
    );
    // The operator's own calls from that address wait too.
    let (status, answer) = operator_get(&edge, DEMO_SITE, &edge.options.admin_token)?;
    assert_eq!((status, code(&answer)), (429, "too_many_requests"), "{answer}");

    // A deployment whose token is too short: the setup routes say so, and do nothing.
    let paths = confab_tests::Paths::new();
    let mut options = confab_tests::EdgeOptions::for_test(&paths, "admin-short-token")?;
    options.admin_token = "x".repeat(31);
    let short = Edge::start(&paths, options)?;
    let (status, answer) = api(&short, "POST", "/api/v1/setup", None, Some(guess(0)))?;
    assert_eq!((status, code(&answer)), (503, "misconfigured"), "{answer}");
    assert!(answer.to_string().contains("CONFAB_ADMIN_TOKEN is 31 bytes"), "{answer}");
    let (status, answer) = operator_get(&short, DEMO_SITE, &"x".repeat(31))?;
    assert_eq!((status, code(&answer)), (503, "misconfigured"), "{answer}");
    let (status, answer) = api(&short, "GET", "/api/v1/health", None, None)?;
    assert_eq!(status, 200, "the rest of the edge serves: {answer}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_and_accounts_apply_at_once_and_are_checked() -> Result<()> {
    let edge = staff_edge("admin-settings")?;
    let admin = sign_in(&edge, DEMO_ADMIN.0)?;
    let (_, view) = api(&edge, "GET", "/api/v1/admin/site", Some(&admin), None)?;
    let mut settings = view["settings"].clone();

    // A wrong origin is refused, naming the field; nothing changes.
    settings["allowed_origins"] = json!(["https://shop.example/"]);
    let (status, answer) = api(&edge, "PUT", "/api/v1/admin/site", Some(&admin), Some(settings.clone()))?;
    assert_eq!(status, 400);
    assert!(answer["error"]["message"].as_str().unwrap_or("").starts_with("allowed_origins"), "{answer}");
    // A valid change is live for the next widget load and for the agents' desks.
    let (_, ada_desk_cookie) = ((), sign_in(&edge, DEMO_AGENTS[0].0)?);
    let mut ada_desk = DeskPeer::connect(&edge, &ada_desk_cookie).await?;
    settings["allowed_origins"] = json!(["https://shop.example"]);
    settings["widget"]["title"] = json!("Pottery help");
    settings["rules"]["lifecycle"]["wrap"]["codes"] = json!([{"code": "glaze", "label": "Glaze question"}]);
    let (status, answer) = api(&edge, "PUT", "/api/v1/admin/site", Some(&admin), Some(settings.clone()))?;
    assert_eq!(status, 200, "{answer}");
    // The next edit starts from what was stored (the form does the same).
    settings["version"] = answer["settings"]["version"].clone();
    let (_, widget) = api(&edge, "GET", &format!("/api/v1/sites/{DEMO_SITE}/widget"), None, None)?;
    assert_eq!(widget["title"], "Pottery help");
    ada_desk.expect(|f| matches!(f, DeskFrame::SiteChanged)).await?;
    let (_, site) = api(&edge, "GET", "/api/v1/site", Some(&ada_desk_cookie), None)?;
    assert_eq!(site["rules"]["lifecycle"]["wrap"]["codes"][0]["label"], "Glaze question");
    // Requiring verified users needs a secret first; the secret is shown once, then only "set".
    settings["identity_required"] = json!(true);
    let (status, _) = api(&edge, "PUT", "/api/v1/admin/site", Some(&admin), Some(settings.clone()))?;
    assert_eq!(status, 400);
    let (_, secret) = api(&edge, "POST", "/api/v1/admin/site/identity-secret", Some(&admin), None)?;
    let secret: IdentitySecret = serde_json::from_value(secret)?;
    assert_eq!(secret.secret.len(), 64);
    let (_, view) = api(&edge, "GET", "/api/v1/admin/site", Some(&admin), None)?;
    assert_eq!(view["identity_secret_set"], true);
    assert!(!view.to_string().contains(&secret.secret), "the secret is never shown again");
    assert_eq!(api(&edge, "PUT", "/api/v1/admin/site", Some(&admin), Some(settings))?.0, 200);
    let (status, answer) =
        api(&edge, "POST", &format!("/api/v1/sites/{DEMO_SITE}/chats"), None, Some(json!({})))?;
    assert_eq!((status, code(&answer)), (401, "unauthorized"), "anonymous chats are refused now");

    // A new account signs in at once; an email in use is refused; an admin cannot demote itself.
    let new = json!({"id": "linus", "name": "Linus", "email": "linus@demo.confab.test", "password": DEMO_PASSWORD,
                     "role": "agent", "capacity": 2, "queues": []});
    let (status, created) = api(&edge, "POST", "/api/v1/admin/agents", Some(&admin), Some(new.clone()))?;
    assert_eq!(status, 201, "{created}");
    let created: AgentAccount = serde_json::from_value(created)?;
    assert!(created.active);
    let linus = sign_in(&edge, "linus@demo.confab.test")?;
    let again = api(
        &edge,
        "POST",
        "/api/v1/admin/agents",
        Some(&admin),
        Some(json!({"id": "linus2", "name": "L",
        "email": DEMO_AGENTS[1].0, "password": DEMO_PASSWORD})),
    )?;
    assert_eq!((again.0, code(&again.1)), (409, "conflict"));
    let demote =
        api(&edge, "PATCH", "/api/v1/admin/agents/sam", Some(&admin), Some(json!({"role": "agent"})))?;
    assert_eq!(demote.0, 400);

    // Deactivating an account signs it out everywhere: its desk socket is closed, its cookie stops working,
    // and it cannot sign in again.
    let mut linus_desk = DeskPeer::connect(&edge, &linus).await?;
    let off =
        api(&edge, "PATCH", "/api/v1/admin/agents/linus", Some(&admin), Some(json!({"active": false})))?;
    assert_eq!((off.0, off.1["active"].as_bool()), (200, Some(false)));
    linus_desk
        .expect(|f| matches!(f, DeskFrame::Error { message, .. } if message.contains("deactivated")))
        .await?;
    assert_eq!(api(&edge, "GET", "/api/v1/agent/me", Some(&linus), None)?.0, 401);
    assert_eq!(api(&edge, "GET", "/api/v1/contacts", Some(&linus), None)?.0, 401);
    let refused = api(
        &edge,
        "POST",
        "/api/v1/agent/session",
        None,
        Some(json!({"email": "linus@demo.confab.test", "password": DEMO_PASSWORD})),
    )?;
    assert_eq!(refused.0, 401);
    // Reactivated with a new password, Linus is back.
    let on = api(
        &edge,
        "PATCH",
        "/api/v1/admin/agents/linus",
        Some(&admin),
        Some(json!({"active": true, "password": "a brand new one"})),
    )?;
    assert_eq!(on.0, 200);
    let back = api(
        &edge,
        "POST",
        "/api/v1/agent/session",
        None,
        Some(json!({"email": "linus@demo.confab.test", "password": "a brand new one"})),
    )?;
    assert_eq!(back.0, 200);
    Ok(())
}

/// Two admins at work at once never silently undo each other: a settings form saved over settings someone
/// else changed since it was opened is refused with `409 conflict` (and saves once reloaded); changes made at
/// the same moment each either land or are refused, never lost after a `200`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_admins_at_once_never_undo_each_other() -> Result<()> {
    let edge = staff_edge("admin-concurrent")?;
    let first = sign_in(&edge, DEMO_ADMIN.0)?;
    let second = sign_in(&edge, DEMO_ADMIN.0)?;
    let (_, opened_by_first) = api(&edge, "GET", "/api/v1/admin/site", Some(&first), None)?;
    let (_, opened_by_second) = api(&edge, "GET", "/api/v1/admin/site", Some(&second), None)?;
    assert!(opened_by_first["settings"]["version"].is_string(), "{opened_by_first}");

    let mut edit = opened_by_first["settings"].clone();
    edit["widget"]["title"] = json!("Title from the first admin");
    let (status, saved) = api(&edge, "PUT", "/api/v1/admin/site", Some(&first), Some(edit))?;
    assert_eq!(status, 200, "{saved}");
    // An account made meanwhile is not a change to the settings: it does not stand in the second admin's way.
    let new =
        json!({"id": "linus", "name": "Linus", "email": "linus@demo.confab.test", "password": DEMO_PASSWORD});
    assert_eq!(api(&edge, "POST", "/api/v1/admin/agents", Some(&second), Some(new))?.0, 201);

    let mut stale = opened_by_second["settings"].clone();
    stale["widget"]["greeting"] = json!("Greeting from the second admin");
    let (status, refused) = api(&edge, "PUT", "/api/v1/admin/site", Some(&second), Some(stale.clone()))?;
    assert_eq!((status, code(&refused)), (409, "conflict"), "{refused}");
    assert!(refused["error"]["message"].as_str().unwrap_or("").contains("reload"), "{refused}");
    let (_, now) = api(&edge, "GET", "/api/v1/admin/site", Some(&second), None)?;
    assert_eq!(now["settings"]["widget"]["title"], "Title from the first admin", "the first save stands");
    assert_ne!(now["settings"]["widget"]["greeting"], "Greeting from the second admin");
    assert!(now["agents"].as_array().is_some_and(|a| a.iter().any(|a| a["id"] == "linus")), "{now}");
    // Reloaded, the second admin's edit saves, on top of the first one's.
    let mut reloaded = now["settings"].clone();
    reloaded["widget"]["greeting"] = json!("Greeting from the second admin");
    let (status, both) = api(&edge, "PUT", "/api/v1/admin/site", Some(&second), Some(reloaded))?;
    assert_eq!(status, 200, "{both}");
    assert_eq!(both["settings"]["widget"]["title"], "Title from the first admin");
    assert_eq!(both["settings"]["widget"]["greeting"], "Greeting from the second admin");

    // Changes at the same moment, to different accounts: every one lands (a change that crossed another is
    // made again on the site as it is now; with five at once, each crosses at most four others) and none is
    // lost (each change reads the site, changes it and writes it back).
    let ids: Vec<String> = both["agents"]
        .as_array()
        .map(|a| a.iter().filter_map(|a| a["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    assert!(ids.len() >= 4, "{both}");
    let accounts: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut landed = 0;
    for round in 0..20u32 {
        let calls: Vec<_> = accounts
            .iter()
            .map(|id| {
                let (url, cookie) = (edge.url(&format!("/api/v1/admin/agents/{id}")), first.clone());
                let body = json!({"capacity": 1 + round});
                std::thread::spawn(move || -> Result<u16> {
                    let answer =
                        support::http_client().patch(&url).header("cookie", &cookie).send_json(body)?;
                    Ok(answer.status().as_u16())
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for call in calls {
            statuses.push(call.join().map_err(|_| anyhow::anyhow!("a request thread panicked"))??);
        }
        let (_, after) = api(&edge, "GET", "/api/v1/admin/site", Some(&first), None)?;
        for (id, status) in accounts.iter().zip(statuses) {
            let capacity = after["agents"]
                .as_array()
                .and_then(|a| a.iter().find(|a| a["id"] == *id))
                .map(|a| a["capacity"].clone());
            match status {
                200 => {
                    landed += 1;
                    assert_eq!(
                        capacity,
                        Some(json!(1 + round)),
                        "round {round}: {id}'s saved change was lost"
                    );
                }
                other => bail!("round {round}: PATCH {id} answered {other}, not 200: a change was refused"),
            }
        }
    }
    assert_eq!(landed, 20 * accounts.len(), "every change at the same moment landed");
    Ok(())
}

/// A chat from its first message to a completed wrap-up with `code`, answered by Ada. Returns it.
async fn completed_chat(
    edge: &Edge,
    ada: &str,
    desk: &mut DeskPeer,
    text: &str,
    code: &str,
) -> Result<ChatStarted> {
    let chat = start_chat(edge, DEMO_SITE)?;
    let mut contact = Peer::connect(edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say(text).await?;
    desk.offered(chat.interaction).await?;
    desk.accept(chat.interaction).await?;
    let mut agent = Peer::agent(edge, &chat.interaction.to_string(), ada).await?;
    agent.say("Happy to help with that.").await?;
    agent.send(&ClientFrame::End).await?;
    agent.send(&ClientFrame::ChooseCode { code: code.into() }).await?;
    agent.send(&ClientFrame::Complete).await?;
    agent
        .expect(|f| matches!(f, ServerFrame::Event { event } if matches!(event, confab_protocol::lifecycle::Event::Completed { .. })))
        .await?;
    Ok(chat)
}

/// Searches the records until `wanted` holds (records reach the desk through the conversation's outbox).
fn records_until(
    edge: &Edge,
    cookie: &str,
    query: &str,
    wanted: impl Fn(&[RecordSummary]) -> bool,
) -> Result<Vec<RecordSummary>> {
    let started = Instant::now();
    loop {
        let (status, answer) = api(edge, "GET", &format!("/api/v1/records{query}"), Some(cookie), None)?;
        assert_eq!(status, 200, "{answer}");
        let list: Vec<RecordSummary> = serde_json::from_value(answer)?;
        if wanted(&list) {
            return Ok(list);
        }
        if started.elapsed() > support::PATIENCE {
            bail!("records{query} never matched; last: {list:?}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_are_searched_and_a_contacts_data_is_erased_on_request() -> Result<()> {
    let mut site = demo_site_with_staff("http://127.0.0.1:9");
    site["rules"] = json!({"lifecycle": {"wrap": {"codes": [
        {"code": "refund", "label": "Refund"}, {"code": "order", "label": "Order"}]}}});
    let edge = edge_with_site("admin-records", site)?;
    let (ada, mut desk) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    let supervisor = sign_in(&edge, DEMO_SUPERVISOR.0)?;
    let admin = sign_in(&edge, DEMO_ADMIN.0)?;
    let refund = completed_chat(&edge, &ada, &mut desk, "My teapot arrived cracked", "refund").await?;
    let order = completed_chat(&edge, &ada, &mut desk, "Do you ship mugs to Norway?", "order").await?;

    let all = records_until(&edge, &supervisor, "", |l| l.len() == 2)?;
    assert_eq!(all[0].record.interaction, order.interaction, "newest first");
    assert_eq!(all[1].agent_name.as_deref(), Some(DEMO_AGENTS[0].1));
    assert_eq!(all[1].preview, "My teapot arrived cracked");
    let by_code = records_until(&edge, &supervisor, "?code=refund", |l| !l.is_empty())?;
    assert_eq!(by_code.iter().map(|r| r.record.interaction).collect::<Vec<_>>(), [refund.interaction]);
    let by_text = records_until(&edge, &supervisor, "?q=NORWAY", |l| !l.is_empty())?;
    assert_eq!(by_text.iter().map(|r| r.record.interaction).collect::<Vec<_>>(), [order.interaction]);
    assert!(records_until(&edge, &supervisor, "?agent=grace", |_| true)?.is_empty());
    let tomorrow = all[0].record.completed_at + 86_400_000;
    assert!(records_until(&edge, &supervisor, &format!("?from={tomorrow}"), |_| true)?.is_empty());
    let (status, answer) = api(&edge, "GET", "/api/v1/records?from=yesterday", Some(&supervisor), None)?;
    assert_eq!((status, code(&answer)), (400, "bad_request"));
    // Export as a supervisor: JSON and plain text.
    let (status, json) = api(
        &edge,
        "GET",
        &format!("/api/v1/chats/{}/transcript", refund.interaction),
        Some(&supervisor),
        None,
    )?;
    assert_eq!((status, json["messages"][0]["text"].as_str()), (200, Some("My teapot arrived cracked")));

    // The refund contact asks to be forgotten. While a chat of theirs is open, it is refused.
    let contact = all[1].contact.clone().context("the record names its contact")?;
    let reopened = Peer::connect(&edge, &refund.interaction.to_string(), None).await;
    let mut reopened = reopened?;
    reopened.hello(Some(&refund.contact_token), None).await?;
    let photo = upload_photo(&edge, &refund.interaction, &refund.contact_token)?;
    reopened
        .send(&ClientFrame::Send {
            client_id: confab_protocol::ids::ClientMessageId(uuid::Uuid::new_v4()),
            text: "Here is a photo".into(),
            attachments: vec![photo.clone()],
        })
        .await?;
    desk.offered(refund.interaction).await?;
    let path = format!("/api/v1/contacts/{}", contact.0);
    let (status, answer) = api(&edge, "DELETE", &path, Some(&admin), None)?;
    assert_eq!((status, code(&answer)), (409, "not_allowed_now"), "{answer}");
    // Once it is ended, everything goes: conversations, records, files.
    desk.accept(refund.interaction).await?;
    let mut agent = Peer::agent(&edge, &refund.interaction.to_string(), &ada).await?;
    agent.send(&ClientFrame::End).await?;
    agent.send(&ClientFrame::Complete).await?;
    let link = format!("/api/v1/chats/{}/attachments/{}/link", refund.interaction, photo.id);
    assert_eq!(api(&edge, "GET", &link, Some(&ada), None)?.0, 200, "the photo is there before");
    let started = Instant::now();
    let erased = loop {
        let (status, answer) = api(&edge, "DELETE", &path, Some(&admin), None)?;
        if status == 200 {
            break answer;
        }
        assert!(started.elapsed() < support::PATIENCE, "still refused: {answer}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!((erased["conversations"].as_u64(), erased["files"].as_u64()), (Some(1), Some(1)));
    let transcript = format!("/api/v1/chats/{}/transcript", refund.interaction);
    assert_eq!(api(&edge, "GET", &transcript, Some(&admin), None)?.0, 404);
    assert_eq!(api(&edge, "GET", &link, Some(&ada), None)?.0, 404, "the photo is gone");
    let left = records_until(&edge, &supervisor, "", |l| l.len() == 1)?;
    assert_eq!(left[0].record.interaction, order.interaction, "the other contact's record stays");
    let (status, _) =
        api(&edge, "GET", &format!("/api/v1/contacts/{}/history", contact.0), Some(&admin), None)?;
    assert_eq!(status, 404);
    // The contact's browser, coming back with its token, finds no conversation.
    let mut resp = ureq::get(&edge.url(&format!("/api/v1/sites/{DEMO_SITE}/contact")))
        .header("authorization", &format!("Bearer {}", refund.contact_token))
        .call()?;
    let session: Value = resp.body_mut().read_json()?;
    assert_eq!(session["conversations"], json!([]));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_see_queues_agents_and_waits_live_and_agents_do_not() -> Result<()> {
    let edge = staff_edge("admin-overview")?;
    let supervisor = sign_in(&edge, DEMO_SUPERVISOR.0)?;
    let mut watch = DeskPeer::connect(&edge, &supervisor).await?;
    let first = watch.expect(|f| matches!(f, DeskFrame::Overview { .. })).await?;
    let DeskFrame::Overview { overview } = first else { unreachable!() };
    assert_eq!(overview.queues[0].waiting, 0);
    assert_eq!(overview.agents.len(), 4);
    // A contact writes while nobody is Ready: the queue grows, with its waiting time.
    let chat = start_chat(&edge, DEMO_SITE)?;
    let mut contact = Peer::connect(&edge, &chat.interaction.to_string(), None).await?;
    contact.hello(Some(&chat.contact_token), None).await?;
    contact.say("Anyone there?").await?;
    let queued = watch
        .expect(|f| matches!(f, DeskFrame::Overview { overview } if overview.queues[0].waiting == 1))
        .await?;
    let DeskFrame::Overview { overview } = queued else { unreachable!() };
    assert!(overview.queues[0].oldest_since.is_some());
    assert_eq!(overview.waiting[0].interaction, chat.interaction);
    // Ada gets Ready and takes it: the queue empties and her load shows.
    let (_, mut ada) = ready_agent(&edge, DEMO_AGENTS[0].0).await?;
    ada.accept(chat.interaction).await?;
    watch
        .expect(|f| matches!(f, DeskFrame::Overview { overview }
            if overview.queues[0].waiting == 0 && overview.agents.iter().any(|a| a.agent.as_str() == "ada" && a.load == 1)))
        .await?;
    // Agents never receive the overview.
    ada.expect_none(Duration::from_secs(1), |f| matches!(f, DeskFrame::Overview { .. })).await?;
    Ok(())
}

/// `POST /api/v1/admin/agents` with the admin's cookie, these headers and this body: status and JSON.
fn post_agent(edge: &Edge, cookie: &str, headers: &[(&str, &str)], body: &str) -> Result<(u16, Value)> {
    let mut request = support::http_client().post(&edge.url("/api/v1/admin/agents")).header("cookie", cookie);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut resp = request.send(body.as_bytes())?;
    let status = resp.status().as_u16();
    Ok((status, serde_json::from_str(&resp.body_mut().read_to_string()?).unwrap_or(Value::Null)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_in_write_sent_by_another_page_is_refused() -> Result<()> {
    let edge = staff_edge("admin-cross-site")?;
    let admin = sign_in(&edge, DEMO_ADMIN.0)?;
    let eve = json!({"id": "eve", "name": "Eve", "email": "eve@shop.test", "password": "a long password"});
    let body = eve.to_string();
    let json_type = ("content-type", "application/json");
    // A page on a sibling subdomain (which SameSite=Strict lets the cookie reach), another site's page in a
    // browser without Sec-Fetch-Site, and a plain HTML form (text/plain): each is refused.
    type Headers<'a> = &'a [(&'a str, &'a str)];
    let forged: [(Headers<'_>, (u16, &str)); 4] = [
        (
            &[json_type, ("sec-fetch-site", "same-site"), ("origin", "http://shop.127.0.0.1")],
            (403, "origin_not_allowed"),
        ),
        (&[json_type, ("sec-fetch-site", "cross-site")], (403, "origin_not_allowed")),
        (&[json_type, ("origin", "http://evil.example")], (403, "origin_not_allowed")),
        (&[("content-type", "text/plain")], (400, "bad_request")),
    ];
    for (headers, expected) in forged {
        let (status, answer) = post_agent(&edge, &admin, headers, &body)?;
        assert_eq!((status, code(&answer)), expected, "{headers:?}: {answer}");
    }
    let (_, view) = api(&edge, "GET", "/api/v1/admin/site", Some(&admin), None)?;
    let ids: Vec<&str> =
        view["agents"].as_array().context("agents")?.iter().filter_map(|a| a["id"].as_str()).collect();
    assert!(!ids.contains(&"eve"), "nothing was created: {ids:?}");
    // Nor can a sibling page sign this browser in to an account of its choosing (login CSRF).
    let mut resp = support::http_client()
        .post(&edge.url("/api/v1/agent/session"))
        .header("sec-fetch-site", "same-site")
        .send_json(json!({"email": DEMO_AGENTS[0].0, "password": DEMO_PASSWORD}))?;
    let answer: Value = serde_json::from_str(&resp.body_mut().read_to_string()?).unwrap_or(Value::Null);
    assert_eq!((resp.status().as_u16(), code(&answer)), (403, "origin_not_allowed"), "{answer}");
    // From the desktop's own page, the same request goes through.
    let own = edge.origin();
    let (status, answer) =
        post_agent(&edge, &admin, &[json_type, ("sec-fetch-site", "same-origin"), ("origin", &own)], &body)?;
    assert_eq!(status, 201, "{answer}");
    Ok(())
}
