//! The HTTP API (`/api/v1/...`) and the widget frame page. See `docs/api.md` for the contract.
//!
//! The router finds the request's route in `confab_protocol::routes`, works out its [`Caller`] once, and
//! hands both to the route's handler; handlers are grouped by area. Every answer that is not a success is
//! JSON `{"error": {"code", "message"}}` with a stable code.

mod admin;
mod attachments;
mod caller;
mod chats;
mod history;
mod operator;
mod origin;
mod session;
mod sites;
mod widget;

use crate::platform::config;
use crate::platform::http::{Answer, HttpError, json};
use caller::Caller;
use confab_protocol::PROTOCOL_VERSION;
use confab_protocol::api::Health;
use confab_protocol::frames::ErrorCode;
use confab_protocol::routes::{self, Found, Method, Route};
use worker::{Env, Request, Response, Result};

pub(crate) async fn handle(req: Request, env: Env) -> Result<Response> {
    match route(req, &env).await {
        Ok(resp) => Ok(resp),
        Err(error) => error.into_response(),
    }
}

async fn route(req: Request, env: &Env) -> Answer {
    // A deployment whose settings cannot be read serves nothing, and says why, rather than serve with
    // guesses (a default in place of a limit the operator set, no way to sign tokens).
    let problems = config::problems(env);
    if !problems.is_empty() {
        return Err(HttpError::new(ErrorCode::Misconfigured, problems.join("; ")));
    }
    let path = req.path();
    let method = Method::from_name(req.method().as_ref());
    let Some(Found { route, params: [first, second, third] }) = method.and_then(|m| routes::find(m, &path))
    else {
        return if routes::is_api(&path) {
            Err(HttpError::new(ErrorCode::NotFound, format!("no API route {} {path}", req.method())))
        } else {
            Ok(Response::error("Not found", 404)?)
        };
    };
    let caller = Caller::of(&req, env, route.access()).await?;
    // Signing in is checked too: a sibling page must not sign a browser in to another account.
    if (caller.has_session() || route == Route::SignIn)
        && let Some(method) = method
    {
        origin::refuse_cross_site(&req, method, route)?;
    }
    let call = (&caller, env);
    match route {
        Route::PutSite => operator::put_site(req, call, first).await,
        Route::OperatorSite => operator::operator_site(&req, call, first).await,
        Route::FirstRun => operator::first_run(req, env).await,
        Route::AdminSite => admin::get_site(call),
        Route::SaveSettings => admin::put_settings(req, call).await,
        Route::RotateIdentitySecret => admin::rotate_identity_secret(call).await,
        Route::RemoveIdentitySecret => admin::remove_identity_secret(call).await,
        Route::CreateAgent => admin::create_agent(req, call).await,
        Route::UpdateAgent => admin::update_agent(req, call, first).await,
        Route::Records => admin::records(&req, call).await,
        Route::EraseContact => admin::erase_contact(call, &decoded(first)).await,
        // The loader reads these on the host page (CORS); the frame gets them inlined.
        Route::WidgetSettingsPreflight | Route::ContactSessionPreflight => {
            widget::preflight(&req, env, first).await
        }
        Route::WidgetSettings => widget::settings(&req, env, first).await,
        Route::ContactSession => history::contact_session(&req, call, first).await,
        Route::WidgetFrame => widget::frame(&req, env).await,
        Route::StartChat => chats::start_chat(req, call, first).await,
        Route::ChatSocket => chats::socket(req, call, first).await,
        Route::SignIn => session::sign_in(req, call).await,
        Route::SignOut => session::sign_out(call).await,
        Route::Me => session::me(call),
        Route::SiteView => session::site_view(call),
        Route::DeskSocket => session::desk_socket(req, call).await,
        Route::Upload => attachments::upload(req, call, first).await,
        Route::AttachmentLink => attachments::link(call, first, second).await,
        Route::Download => attachments::download(&req, call, &format!("{first}/{second}/{third}")).await,
        Route::Contacts => history::contacts(&req, call).await,
        Route::ContactHistory => history::contact_history(&req, call, &decoded(first)).await,
        Route::Transcript => history::transcript(&req, call, first).await,
        Route::AgentDesktop => {
            Ok(Response::redirect(req.url()?.join("/agent/").map_err(worker::Error::from)?)?)
        }
        Route::Health => json(&Health { ok: true, protocol: PROTOCOL_VERSION }),
    }
}

/// A path segment percent-decoded (contact ids of verified users hold `@`, `+`, spaces...). Only for ids
/// that are looked up, never for storage keys.
fn decoded(segment: &str) -> String {
    js_sys::decode_uri_component(segment).map(String::from).unwrap_or_else(|_| segment.to_owned())
}
