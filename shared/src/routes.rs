//! The edge's HTTP routes as one table. The edge's router finds a request's route here and dispatches on it
//! with an exhaustive `match`, so a route exists only if it is in [`ROUTES`]; the authorization test in
//! `tests/` checks every row of [`ROUTES`] against every kind of caller, so a route added here without a row
//! there fails that test.

/// The HTTP methods the edge answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    /// The method named `name` (as in a request line), if the edge answers it.
    pub fn from_name(name: &str) -> Option<Method> {
        Some(match name {
            "GET" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }
}

/// What a request asks for. `docs/api.md` describes each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Route {
    /// The operator creates or replaces a site (the deployment's admin token).
    PutSite,
    OperatorSite,
    /// A new site and its first admin, with the deployment's setup token.
    FirstRun,
    AdminSite,
    SaveSettings,
    RotateIdentitySecret,
    RemoveIdentitySecret,
    CreateAgent,
    UpdateAgent,
    Records,
    EraseContact,
    /// CORS preflight of the loader's settings request.
    WidgetSettingsPreflight,
    WidgetSettings,
    StartChat,
    ChatSocket,
    SignIn,
    SignOut,
    Me,
    SiteView,
    /// CORS preflight of the loader's unread-count request.
    ContactSessionPreflight,
    ContactSession,
    DeskSocket,
    Upload,
    AttachmentLink,
    /// A file, through a signed, expiring link.
    Download,
    Contacts,
    ContactHistory,
    Transcript,
    WidgetFrame,
    /// `/agent` without its slash, sent to the desktop at `/agent/`.
    AgentDesktop,
    /// Whether the edge can serve: for whoever starts or deploys it, and load balancers.
    Health,
}

/// Who may call a route: what the edge's router works out about the caller before the route's handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the route needs no credential, or checks its own (the operator's token, the setup token, a
    /// signed link, sign-in's password).
    Public,
    /// A contact with its token for the site named in the path.
    Contact,
    /// A conversation's contact (its token) or a signed-in agent of its site (the session cookie, which
    /// counts only while the account is active).
    ContactOrAgent,
    /// A signed-in, active account with at least this role.
    Staff(crate::role::Role),
    /// Anyone; a genuine session cookie's account is looked up (signing out ends its sessions).
    AnySession,
}

impl Route {
    /// Who may call this route.
    pub fn access(self) -> Access {
        use crate::role::Role;
        match self {
            Route::AdminSite
            | Route::SaveSettings
            | Route::RotateIdentitySecret
            | Route::RemoveIdentitySecret
            | Route::CreateAgent
            | Route::UpdateAgent
            | Route::EraseContact => Access::Staff(Role::Admin),
            Route::Records => Access::Staff(Role::Supervisor),
            Route::Me
            | Route::SiteView
            | Route::DeskSocket
            | Route::Contacts
            | Route::ContactHistory
            | Route::Transcript => Access::Staff(Role::Agent),
            Route::ChatSocket | Route::Upload | Route::AttachmentLink => Access::ContactOrAgent,
            Route::ContactSession => Access::Contact,
            Route::SignOut => Access::AnySession,
            Route::PutSite
            | Route::OperatorSite
            | Route::FirstRun
            | Route::WidgetSettingsPreflight
            | Route::WidgetSettings
            | Route::StartChat
            | Route::SignIn
            | Route::ContactSessionPreflight
            | Route::Download
            | Route::WidgetFrame
            | Route::AgentDesktop
            | Route::Health => Access::Public,
        }
    }
}

/// Every route: method, path pattern (`{name}` matches one non-empty segment), route.
pub const ROUTES: &[(Method, &str, Route)] = &[
    (Method::Put, "/api/v1/admin/sites/{site}", Route::PutSite),
    (Method::Get, "/api/v1/admin/sites/{site}", Route::OperatorSite),
    (Method::Post, "/api/v1/setup", Route::FirstRun),
    (Method::Get, "/api/v1/admin/site", Route::AdminSite),
    (Method::Put, "/api/v1/admin/site", Route::SaveSettings),
    (Method::Post, "/api/v1/admin/site/identity-secret", Route::RotateIdentitySecret),
    (Method::Delete, "/api/v1/admin/site/identity-secret", Route::RemoveIdentitySecret),
    (Method::Post, "/api/v1/admin/agents", Route::CreateAgent),
    (Method::Patch, "/api/v1/admin/agents/{agent}", Route::UpdateAgent),
    (Method::Get, "/api/v1/records", Route::Records),
    (Method::Delete, "/api/v1/contacts/{contact}", Route::EraseContact),
    (Method::Options, "/api/v1/sites/{site}/widget", Route::WidgetSettingsPreflight),
    (Method::Get, "/api/v1/sites/{site}/widget", Route::WidgetSettings),
    (Method::Post, "/api/v1/sites/{site}/chats", Route::StartChat),
    (Method::Get, "/api/v1/chats/{interaction}/socket", Route::ChatSocket),
    (Method::Post, "/api/v1/agent/session", Route::SignIn),
    (Method::Delete, "/api/v1/agent/session", Route::SignOut),
    (Method::Get, "/api/v1/agent/me", Route::Me),
    (Method::Get, "/api/v1/site", Route::SiteView),
    (Method::Options, "/api/v1/sites/{site}/contact", Route::ContactSessionPreflight),
    (Method::Get, "/api/v1/sites/{site}/contact", Route::ContactSession),
    (Method::Get, "/api/v1/desk/socket", Route::DeskSocket),
    (Method::Post, "/api/v1/chats/{interaction}/attachments", Route::Upload),
    (Method::Get, "/api/v1/chats/{interaction}/attachments/{attachment}/link", Route::AttachmentLink),
    (Method::Get, "/api/v1/files/{site}/{interaction}/{attachment}", Route::Download),
    (Method::Get, "/api/v1/contacts", Route::Contacts),
    (Method::Get, "/api/v1/contacts/{contact}/history", Route::ContactHistory),
    (Method::Get, "/api/v1/chats/{interaction}/transcript", Route::Transcript),
    (Method::Get, "/widget/frame", Route::WidgetFrame),
    (Method::Get, "/agent", Route::AgentDesktop),
    (Method::Get, "/api/v1/health", Route::Health),
];

/// A request's route and the path segments its pattern's `{…}` matched, in order (unused ones are `""`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found<'a> {
    pub route: Route,
    pub params: [&'a str; 3],
}

/// The route of `method` on `path` (leading and trailing slashes do not matter), if there is one.
pub fn find(method: Method, path: &str) -> Option<Found<'_>> {
    let segments = || path.trim_matches('/').split('/');
    ROUTES.iter().filter(|(m, _, _)| *m == method).find_map(|(_, pattern, route)| {
        let mut params = [""; 3];
        let mut taken = 0;
        let mut wanted = pattern.trim_matches('/').split('/');
        let mut given = segments();
        loop {
            match (wanted.next(), given.next()) {
                (None, None) => return Some(Found { route: *route, params }),
                (Some(w), Some(g)) if w.starts_with('{') && w.ends_with('}') && !g.is_empty() => {
                    *params.get_mut(taken)? = g;
                    taken += 1;
                }
                (Some(w), Some(g)) if w == g => {}
                _ => return None,
            }
        }
    })
}

/// Whether `path` is under the API (an unknown one is answered with a JSON error, not a page).
pub fn is_api(path: &str) -> bool {
    path.trim_start_matches('/').split('/').next() == Some("api")
}

/// What a request carrying the session cookie tells of the page that sent it ([`cross_site_refusal`]).
#[derive(Debug, Clone, Copy)]
pub struct CookieRequest<'a> {
    pub method: Method,
    pub websocket_upgrade: bool,
    /// `Sec-Fetch-Site`, which browsers set on every request.
    pub sec_fetch_site: Option<&'a str>,
    pub origin: Option<&'a str>,
    /// The edge's own origin (`https://chat.example`).
    pub own_origin: &'a str,
    pub content_type: Option<&'a str>,
    pub has_body: bool,
    /// The route takes a file as its body (an upload), not JSON.
    pub takes_a_file: bool,
}

/// Why a request with the session cookie is refused as one another site's page may have sent (cross-site
/// request forgery), if it is. `SameSite=Strict` keeps the cookie from other sites, but not from a sibling
/// subdomain of the edge's own site. So a write or a socket upgrade with the cookie must come from the edge's
/// own pages: `Sec-Fetch-Site` says `same-origin` (or `none`: typed by the user), or, from a browser
/// without it, `Origin` is the edge's own. A request with neither comes from no browser (a script with its
/// own cookie) and cannot be forged by a page. Bodies must be JSON, which a plain HTML form cannot send.
pub fn cross_site_refusal(request: &CookieRequest<'_>) -> Option<CookieRefusal> {
    let reads_only = matches!(request.method, Method::Get | Method::Options) && !request.websocket_upgrade;
    if reads_only {
        return None;
    }
    let same_origin = match (request.sec_fetch_site, request.origin) {
        (Some(site), _) => matches!(site.trim(), "same-origin" | "none"),
        (None, Some(origin)) => origin.trim() == request.own_origin,
        (None, None) => true,
    };
    if !same_origin {
        return Some(CookieRefusal::FromAnotherPage);
    }
    let is_json = request.content_type.is_some_and(|t| {
        t.split(';').next().is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
    });
    if request.has_body && !request.takes_a_file && !is_json {
        return Some(CookieRefusal::NotJson);
    }
    None
}

/// Why [`cross_site_refusal`] refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieRefusal {
    /// Sent by a page other than the edge's own (`origin_not_allowed`).
    FromAnotherPage,
    /// A body that is not JSON (`bad_request`).
    NotJson,
}

impl CookieRefusal {
    pub fn message(self) -> &'static str {
        match self {
            CookieRefusal::FromAnotherPage => "a signed-in request must come from Confab's own pages",
            CookieRefusal::NotJson => "send the body as JSON, with Content-Type: application/json",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_in_write_or_socket_must_come_from_the_edges_own_pages_with_json() {
        let own = "https://chat.example";
        let write = CookieRequest {
            method: Method::Post,
            websocket_upgrade: false,
            sec_fetch_site: Some("same-origin"),
            origin: Some(own),
            own_origin: own,
            content_type: Some("application/json; charset=utf-8"),
            has_body: true,
            takes_a_file: false,
        };
        assert_eq!(cross_site_refusal(&write), None);
        let refused = |r: CookieRequest<'_>| cross_site_refusal(&r).is_some();
        assert!(refused(CookieRequest { sec_fetch_site: Some("same-site"), ..write }), "a sibling subdomain");
        assert!(refused(CookieRequest { sec_fetch_site: Some("cross-site"), ..write }));
        assert!(!refused(CookieRequest { sec_fetch_site: Some("none"), ..write }), "typed by the user");
        let older_browser = CookieRequest { sec_fetch_site: None, ..write };
        assert!(!refused(older_browser));
        assert!(refused(CookieRequest { origin: Some("https://shop.chat.example"), ..older_browser }));
        assert!(refused(CookieRequest { origin: Some("null"), ..older_browser }));
        assert!(
            !refused(CookieRequest { origin: None, ..older_browser }),
            "no browser: a script's own cookie"
        );
        // A plain form can post text/plain; only JSON (or a file, for uploads) is taken.
        assert!(refused(CookieRequest { content_type: Some("text/plain"), ..write }));
        assert!(refused(CookieRequest { content_type: None, ..write }));
        assert!(!refused(CookieRequest { content_type: None, has_body: false, ..write }), "no body");
        assert!(!refused(CookieRequest { content_type: Some("image/png"), takes_a_file: true, ..write }));
        // Reads are not checked; socket upgrades are.
        let read = CookieRequest { method: Method::Get, sec_fetch_site: Some("cross-site"), ..write };
        assert!(!refused(read));
        assert!(refused(CookieRequest { websocket_upgrade: true, ..read }));
        for method in [Method::Put, Method::Patch, Method::Delete] {
            assert!(refused(CookieRequest { method, sec_fetch_site: Some("cross-site"), ..write }));
        }
    }

    /// The pattern with each `{…}` replaced by a sample value.
    fn sample(pattern: &str) -> String {
        pattern.split('/').map(|s| if s.starts_with('{') { "x1" } else { s }).collect::<Vec<_>>().join("/")
    }

    #[test]
    fn every_route_is_found_at_its_own_pattern_and_only_there() {
        for (method, pattern, route) in ROUTES {
            let found = find(*method, &sample(pattern)).map(|f| f.route);
            assert_eq!(found, Some(*route), "{} {pattern}", method.as_str());
        }
        let mut seen: Vec<(Method, &str)> = ROUTES.iter().map(|(m, p, _)| (*m, *p)).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), ROUTES.len(), "a method and pattern appear twice");
    }

    #[test]
    fn parameters_are_the_matched_segments_in_order() {
        let found = find(Method::Get, "/api/v1/files/demo/abc/f1").expect("a download");
        assert_eq!(found, Found { route: Route::Download, params: ["demo", "abc", "f1"] });
        let found = find(Method::Patch, "/api/v1/admin/agents/ada/").expect("trailing slash");
        assert_eq!(found.params, ["ada", "", ""]);
    }

    #[test]
    fn other_methods_paths_and_empty_segments_have_no_route() {
        assert_eq!(find(Method::Post, "/api/v1/agent/me"), None);
        assert_eq!(find(Method::Get, "/api/v1/agent/me/more"), None);
        assert_eq!(find(Method::Get, "/api/v1/agent"), None);
        assert_eq!(find(Method::Get, "/api/v1/contacts//history"), None);
        assert_eq!(find(Method::Get, "/api/v2/agent/me"), None);
        assert_eq!(Method::from_name("TRACE"), None);
        assert!(is_api("/api/v1/nothing") && !is_api("/apiary") && !is_api("/widget/frame"));
    }
}
