//! Site owners and supervisors in real headless Chromium: a site set up from the sign-in page whose copied
//! snippet works on a fresh host page; a disposition code an admin adds that shows in a signed-in agent's
//! wrap panel at once, while a supervisor watches the live view and then finds the interaction in the
//! records; a page whose origin the site does not allow gets no chat.

mod support;

use anyhow::{Context, Result};
use confab_tests::browser::Chromedriver;
use confab_tests::{DEMO_ADMIN, DEMO_AGENTS, DEMO_SUPERVISOR, HostPage, Paths, demo_site_with_staff};
use fantoccini::{Client, Locator};
use serde_json::json;
use support::web::{
    ENTER, Shop, ShopOptions, browser, click, open_screen, open_widget, screenshot, sign_in_desktop,
    sign_in_ready, wait_for_absence, wait_for_script, wait_for_text,
};
use support::{PATIENCE, edge_with_site};

async fn type_into(client: &Client, css: &str, text: &str) -> Result<()> {
    client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await?.send_keys(text).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_set_up_in_the_browser_takes_chats_from_its_copied_snippet() -> Result<()> {
    let paths = Paths::new();
    let edge = edge_with_site("admin-new-site", demo_site_with_staff("http://127.0.0.1:9"))?;
    let driver = Chromedriver::start(&paths)?;
    let owner = browser(&driver, &paths, "owner").await?;
    owner.set_window_size(1366, 900).await?;

    // The first-run flow: the setup token, a site id and name, the owner's own account.
    owner.goto(&edge.url("/agent/")).await?;
    click(&owner, ".ad-first-run").await?;
    type_into(&owner, "input[name=setup-token]", &edge.options.admin_token).await?;
    type_into(&owner, "input[name=site]", "pottery").await?;
    type_into(&owner, "input[name=site-name]", "Pottery Studio").await?;
    type_into(&owner, "input[name=name]", "Pat Potter").await?;
    type_into(&owner, "input[name=email]", "pat@pottery.test").await?;
    type_into(&owner, "input[name=password]", "a long password").await?;
    screenshot(&owner, &paths, "admin-1-first-run").await?;
    click(&owner, ".ad-setup button[type=submit]").await?;
    wait_for_text(&owner, ".ad-me", "pottery").await?;

    // Settings: allow the shop's origin, save, copy the snippet.
    // The shop's page listens from now on (its port cannot be taken meanwhile); it gets its HTML below.
    let host = HostPage::bind(0)?;
    let host_origin = format!("http://127.0.0.1:{}", host.port());
    open_screen(&owner, "Settings").await?;
    let snippet =
        owner.wait().at_most(PATIENCE).for_element(Locator::Css(".ad-snippet")).await?.text().await?;
    assert_eq!(
        snippet,
        format!(r#"<script src="{}/widget.js" data-site="pottery" async></script>"#, edge.origin())
    );
    type_into(&owner, "textarea[name=allowed-origins]", &host_origin).await?;
    click(&owner, "input[name=widget-title]").await?; // leaving the field commits it
    wait_for_text(&owner, ".ad-savebar", "unsaved changes").await?;
    click(&owner, ".ad-save-settings").await?;
    wait_for_text(&owner, ".ad-savebar", "Saved").await?;
    wait_for_text(&owner, ".ad-csp", "frame-src").await?;
    screenshot(&owner, &paths, "admin-2-settings").await?;

    // The site's limits: each customer's files a day, saved, and there after a reload.
    let files = owner.find(Locator::Css("input[name=quota-contact-files]")).await?;
    assert_eq!(files.prop("value").await?.as_deref(), Some("50"), "the default");
    files.clear().await?;
    files.send_keys("20").await?;
    click(&owner, "input[name=quota-contact-mb]").await?;
    wait_for_text(&owner, ".ad-savebar", "unsaved changes").await?;
    click(&owner, ".ad-save-settings").await?;
    wait_for_text(&owner, ".ad-savebar", "Saved").await?;
    owner.refresh().await?;
    open_screen(&owner, "Settings").await?;
    wait_for_script(
        &owner,
        "const i = document.querySelector('input[name=quota-contact-files]'); \
         if (!i || i.value !== '20') return null; i.closest('fieldset').scrollIntoView(); return true;",
    )
    .await?;
    screenshot(&owner, &paths, "admin-2b-limits").await?;

    // A fresh page with nothing but the copied snippet: a customer chats, the owner (Ready) gets the chat.
    let html = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8><title>Pottery Studio</title></head>\
         <body><h1>Pottery Studio</h1><p>Hand-thrown mugs.</p>{snippet}</body></html>"
    );
    host.set_page(html, String::new());
    owner.find(Locator::Css("select[name=presence]")).await?.select_by_value("ready").await?;
    owner
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(".ad-presence-menu[data-presence=ready]"))
        .await?;
    let customer = browser(&driver, &paths, "pottery-customer").await?;
    open_widget(&customer, &host_origin).await?;
    wait_for_text(&customer, ".cw-head", "Pottery Studio").await?;
    type_into(&customer, ".cw-input", &format!("Do you sell glaze?{ENTER}")).await?;
    wait_for_text(&owner, ".ad-offer .ad-preview", "glaze").await?;
    click(&owner, ".ad-offer .ad-accept").await?;
    wait_for_text(&owner, ".ad-from-contact .ad-text", "Do you sell glaze?").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_code_reaches_the_wrap_panel_live_while_a_supervisor_watches() -> Result<()> {
    let staff = demo_site_with_staff("http://127.0.0.1:9")["agents"].clone();
    let shop = Shop::start_with(
        "admin-codes",
        ShopOptions { site: Some(json!({"agents": staff})), ..Default::default() },
    )?;
    let (paths, edge) = (&shop.paths, &shop.edge);
    let ada = browser(&shop.driver, paths, "ada").await?;
    let admin = browser(&shop.driver, paths, "admin").await?;
    let supervisor = browser(&shop.driver, paths, "supervisor").await?;
    for client in [&ada, &admin, &supervisor] {
        client.set_window_size(1366, 860).await?;
    }
    sign_in_ready(&ada, edge, DEMO_AGENTS[0].0).await?;
    sign_in_desktop(&supervisor, edge, DEMO_SUPERVISOR.0).await?;
    open_screen(&supervisor, "Live view").await?;
    wait_for_text(&supervisor, "[data-testid=waiting-total]", "0").await?;
    wait_for_text(&supervisor, ".ad-agents tr[data-agent=ada]", "Ready").await?;

    // The admin adds a code while Ada is signed in.
    sign_in_desktop(&admin, edge, DEMO_ADMIN.0).await?;
    open_screen(&admin, "Settings").await?;
    type_into(&admin, "input[name=new-code]", "glaze").await?;
    type_into(&admin, "input[name=new-code-label]", "Glaze question").await?;
    click(&admin, ".ad-add-code").await?;
    wait_for_text(&admin, ".ad-code-table", "Glaze question").await?;
    click(&admin, ".ad-save-settings").await?;
    wait_for_text(&admin, ".ad-savebar", "Saved").await?;

    // Meanwhile another admin changes the greeting. This admin's next save, made on settings opened before
    // that, is refused and says why instead of undoing it; reloaded, the form shows the other's change and
    // this admin's edit, made again, saves on top of it.
    let other_admin = support::sign_in(edge, DEMO_ADMIN.0)?;
    let (_, view) = support::api(edge, "GET", "/api/v1/admin/site", Some(&other_admin), None)?;
    let mut changed = view["settings"].clone();
    changed["widget"]["greeting"] = json!("Hello from the other admin");
    assert_eq!(support::api(edge, "PUT", "/api/v1/admin/site", Some(&other_admin), Some(changed))?.0, 200);
    type_into(&admin, "input[name=widget-title]", "Glaze Studio").await?;
    click(&admin, "textarea[name=widget-greeting]").await?; // leaving the field commits it
    wait_for_text(&admin, ".ad-savebar", "unsaved changes").await?;
    click(&admin, ".ad-save-settings").await?;
    wait_for_text(&admin, ".ad-savebar .ad-error", "reload to see their changes").await?;
    screenshot(&admin, paths, "admin-3a-settings-changed-meanwhile").await?;
    click(&admin, ".ad-reload-settings").await?;
    wait_for_text(&admin, ".ad-savebar", "Reloaded").await?;
    let greeting = admin.find(Locator::Css("textarea[name=widget-greeting]")).await?;
    assert_eq!(greeting.prop("value").await?.as_deref(), Some("Hello from the other admin"));
    type_into(&admin, "input[name=widget-title]", "Glaze Studio").await?;
    click(&admin, "textarea[name=widget-greeting]").await?;
    click(&admin, ".ad-save-settings").await?;
    wait_for_text(&admin, ".ad-savebar", "Saved").await?;
    let (_, view) = support::api(edge, "GET", "/api/v1/admin/site", Some(&other_admin), None)?;
    assert_eq!(view["settings"]["widget"]["greeting"], "Hello from the other admin");
    assert!(
        view["settings"]["widget"]["title"].as_str().is_some_and(|t| t.ends_with("Glaze Studio")),
        "{view}"
    );

    // A customer writes: the supervisor sees the wait until Ada accepts.
    let customer = browser(&shop.driver, paths, "customer").await?;
    open_widget(&customer, &shop.host_origin).await?;
    type_into(&customer, ".cw-input", &format!("Which glaze is food safe?{ENTER}")).await?;
    wait_for_text(&supervisor, "[data-testid=waiting-total]", "1").await?;
    screenshot(&supervisor, paths, "admin-3-live-view-waiting").await?;
    click(&ada, ".ad-offer .ad-accept").await?;
    wait_for_text(&supervisor, "[data-testid=waiting-total]", "0").await?;
    wait_for_text(&supervisor, ".ad-agents tr[data-agent=ada]", "1 / 3").await?;

    // Ada ends the chat; the code the admin added is in her wrap panel without a reload.
    wait_for_text(&ada, ".ad-from-contact .ad-text", "food safe").await?;
    click(&ada, ".ad-end").await?;
    click(&ada, ".ad-end-confirm").await?;
    wait_for_text(&ada, ".ad-wrap", "Glaze question").await?;
    screenshot(&ada, paths, "admin-4-wrap-with-new-code").await?;
    click(&ada, ".ad-codes input[value=glaze]").await?;
    click(&ada, ".ad-complete").await?;
    wait_for_absence(&ada, ".ad-wrap").await?;

    // The supervisor finds it in the records, with its code, and can export it.
    open_screen(&supervisor, "Records").await?;
    let started = std::time::Instant::now();
    loop {
        click(&supervisor, ".ad-filters button[type=submit]").await?;
        if wait_for_text(&supervisor, ".ad-record-list", "Glaze question").await.is_ok() {
            break;
        }
        anyhow::ensure!(started.elapsed() < PATIENCE, "the record never showed");
    }
    let json_link =
        supervisor.find(Locator::Css(".ad-export a")).await?.attr("href").await?.context("href")?;
    assert!(json_link.ends_with("/transcript?format=json"), "{json_link}");
    screenshot(&supervisor, paths, "admin-5-records").await?;
    // A supervisor may not delete a contact's data: there is no button for it.
    assert!(supervisor.find_all(Locator::Css(".ad-erase")).await?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_an_origin_the_site_does_not_allow_gets_no_chat() -> Result<()> {
    let shop = Shop::start_with(
        "admin-origin",
        ShopOptions {
            site: Some(json!({"allowed_origins": ["https://shop.example"]})),
            // The page notes what the loader says in the console, where it explains a refusal.
            page_head: Some(
                "<script>window.consoleErrors = []; var shown = console.error; \
                 console.error = function (m) { consoleErrors.push(String(m)); shown.apply(console, arguments); };\
                 </script>",
            ),
            ..Default::default()
        },
    )?;
    let customer = browser(&shop.driver, &shop.paths, "stranger").await?;
    customer.goto(&shop.host_origin).await?;
    customer.wait().at_most(PATIENCE).for_element(Locator::Css("h1")).await?;
    // The loader ran, asked and was refused (it says why in the console)...
    let said = wait_for_script(&customer, "return window.consoleErrors.join('\\n')").await?;
    let said = said.as_str().unwrap_or_default();
    assert!(
        said.starts_with(&format!("Confab: {} may not show the chat", shop.host_origin)),
        "the loader's refusal: {said:?}"
    );
    // ... and so drew no chat button: nobody opens a blocked frame.
    assert!(customer.find_all(Locator::Css("[data-confab=launcher]")).await?.is_empty());
    // And the API refuses this origin too.
    let agent = support::http_client();
    let mut resp = agent
        .post(&shop.edge.url(&format!("/api/v1/sites/{}/chats", confab_tests::DEMO_SITE)))
        .header("origin", &shop.host_origin)
        .send_json(json!({}))?;
    assert_eq!(resp.status().as_u16(), 403);
    let body: serde_json::Value = resp.body_mut().read_json()?;
    assert_eq!(body["error"]["code"], "origin_not_allowed");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_desktops_follow_a_role_change_and_a_new_password_at_once() -> Result<()> {
    let paths = Paths::new();
    let edge = edge_with_site("admin-sessions", demo_site_with_staff("http://127.0.0.1:9"))?;
    let driver = Chromedriver::start(&paths)?;
    let margaret = browser(&driver, &paths, "margaret").await?;
    let ada = browser(&driver, &paths, "ada").await?;
    for client in [&margaret, &ada] {
        client.set_window_size(1366, 860).await?;
    }
    sign_in_desktop(&margaret, &edge, DEMO_SUPERVISOR.0).await?;
    open_screen(&margaret, "Live view").await?;
    sign_in_desktop(&ada, &edge, DEMO_AGENTS[0].0).await?;

    // The admin makes Margaret an agent and gives Ada a new password, through the API.
    let admin = support::sign_in(&edge, DEMO_ADMIN.0)?;
    for (id, change) in
        [("margaret", json!({"role": "agent"})), ("ada", json!({"password": "fresh-password-42"}))]
    {
        let (status, answer) =
            support::api(&edge, "PATCH", &format!("/api/v1/admin/agents/{id}"), Some(&admin), Some(change))?;
        assert_eq!(status, 200, "{answer}");
    }

    // Margaret's desktop reloads by itself as an agent's: no Live view any more, still signed in.
    wait_for_text(&margaret, ".ad-me", "· Agent").await?;
    wait_for_text(&margaret, ".ad-presence", "Connected").await?;
    let live_view = "//nav[@class='ad-nav']/button[normalize-space()='Live view']";
    assert!(margaret.find_all(Locator::XPath(live_view)).await?.is_empty(), "no Live view for an agent");
    // Ada is back at the sign-in page, told why; her new password signs her in.
    wait_for_text(&ada, ".ad-signed-out", "your password was changed").await?;
    screenshot(&ada, &paths, "admin-6-signed-out-new-password").await?;
    type_into(&ada, "input[name=email]", DEMO_AGENTS[0].0).await?;
    type_into(&ada, "input[name=password]", "fresh-password-42").await?;
    click(&ada, "button[type=submit]").await?;
    wait_for_text(&ada, ".ad-presence", "Connected").await?;
    Ok(())
}
