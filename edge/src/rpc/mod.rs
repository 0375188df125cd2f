//! How the Worker and the Durable Objects talk to each other: one typed client per object, with the enum of
//! the messages it takes, shared by caller and callee so that both sides match on the same variants.
//!
//! On the wire a message is a `POST https://do.internal/{op}` whose body is the message's content (serde's
//! adjacently tagged form, split in two), so an outbox row written by an earlier release still reads. Socket
//! upgrades are the one other request an object takes (`GET /socket`, the upgrade's own headers kept).
//! Binding names and paths are written only in this module.

pub(crate) mod conversation;
pub(crate) mod desk;
pub(crate) mod directory;
pub(crate) mod limiter;
pub(crate) mod outbox;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worker::{Env, Error, Headers, Method, Request, RequestInit, Response, Result, Stub};

/// The Durable Object classes, by their binding in `wrangler.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Namespace {
    Conversation,
    Desk,
    Directory,
    Limiter,
}

impl Namespace {
    fn binding(self) -> &'static str {
        match self {
            Namespace::Conversation => "CONVERSATION",
            Namespace::Desk => "DESK",
            Namespace::Directory => "DIRECTORY",
            Namespace::Limiter => "LIMITER",
        }
    }

    fn from_binding(binding: &str) -> Option<Namespace> {
        [Namespace::Conversation, Namespace::Desk, Namespace::Directory, Namespace::Limiter]
            .into_iter()
            .find(|n| n.binding() == binding)
    }
}

/// One Durable Object: its class and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    pub(crate) namespace: Namespace,
    pub(crate) name: String,
}

impl Address {
    fn stub(&self, env: &Env) -> Result<Stub> {
        env.durable_object(self.namespace.binding())?.id_from_name(&self.name)?.get_stub()
    }
}

/// The messages one class of object takes.
pub(crate) trait Message: Serialize + DeserializeOwned {
    const NAMESPACE: Namespace;
}

/// A message ready to go: where to, which operation, its body as JSON (what an outbox keeps).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Envelope {
    pub(crate) to: Address,
    pub(crate) op: String,
    pub(crate) body: String,
}

impl Envelope {
    pub(crate) fn new<M: Message>(name: &str, message: &M) -> Result<Envelope> {
        let mut tagged = serde_json::to_value(message)?;
        let op = tagged.get("op").and_then(|op| op.as_str()).map(str::to_owned);
        let op = op.ok_or_else(|| Error::RustError("an object message without its op".into()))?;
        let body = tagged.get_mut("body").map(serde_json::Value::take).unwrap_or(serde_json::Value::Null);
        Ok(Envelope {
            to: Address { namespace: M::NAMESPACE, name: name.to_owned() },
            op,
            body: serde_json::to_string(&body)?,
        })
    }

    /// An envelope as an outbox stored it (`binding`, `name`, `path`, `body`), if its class still exists.
    pub(crate) fn stored(binding: &str, name: String, path: &str, body: String) -> Option<Envelope> {
        let namespace = Namespace::from_binding(binding)?;
        Some(Envelope { to: Address { namespace, name }, op: path.trim_start_matches('/').to_owned(), body })
    }

    /// The binding and path an outbox stores.
    pub(crate) fn binding_and_path(&self) -> (&'static str, String) {
        (self.to.namespace.binding(), format!("/{}", self.op))
    }

    fn request(&self) -> Result<Request> {
        let mut init = RequestInit::new();
        init.with_method(Method::Post);
        let headers = Headers::new();
        headers.set("content-type", "application/json")?;
        init.with_headers(headers);
        init.with_body(Some(JsValue::from_str(&self.body)));
        Request::new_with_init(&format!("https://do.internal/{}", self.op), &init)
    }

    /// Delivers the message; `Err` unless the object answered 2xx.
    pub(crate) async fn deliver(&self, env: &Env) -> Result<Response> {
        let resp = self.to.stub(env)?.fetch_with_request(self.request()?).await?;
        if resp.status_code() / 100 != 2 {
            return Err(Error::RustError(format!(
                "{} /{} answered {}",
                self.to.namespace.binding(),
                self.op,
                resp.status_code()
            )));
        }
        Ok(resp)
    }
}

/// Sends `message` to the object `name` and reads its answer.
pub(crate) async fn call<M: Message, A: DeserializeOwned>(env: &Env, name: &str, message: &M) -> Result<A> {
    let mut resp = Envelope::new(name, message)?.deliver(env).await?;
    resp.json().await
}

/// What an object was asked.
pub(crate) enum Incoming<M> {
    /// A WebSocket upgrade, with the query the client's side put on it.
    Socket,
    Message(M),
}

/// Reads what an object of class `M` was asked (the callee's side of [`call`]).
pub(crate) async fn incoming<M: Message>(req: &mut Request) -> Result<Incoming<M>> {
    let path = req.path();
    let op = path.trim_start_matches('/');
    if op == "socket" && req.method() == Method::Get {
        return Ok(Incoming::Socket);
    }
    let text = req.text().await?;
    let body: serde_json::Value =
        if text.trim().is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text)? };
    let mut tagged = serde_json::Map::new();
    tagged.insert("op".into(), op.into());
    if !body.is_null() {
        tagged.insert("body".into(), body);
    }
    serde_json::from_value(tagged.into())
        .map(Incoming::Message)
        .map_err(|e| Error::RustError(format!("{:?} cannot read {op:?}: {e}", M::NAMESPACE)))
}

/// The callee's answer to a message.
pub(crate) fn answer(value: &impl Serialize) -> Result<Response> {
    Response::from_json(value)
}

/// Hands a WebSocket upgrade to the object `name`, with `query` for it to know who is on the socket. The
/// request's own headers go along (the upgrade among them).
pub(crate) async fn open_socket(
    env: &Env,
    to: Namespace,
    name: &str,
    query: &[(&str, &str)],
    req: &Request,
) -> Result<Response> {
    let mut url = worker::Url::parse("https://do.internal/socket")?;
    url.query_pairs_mut().extend_pairs(query);
    let mut init = RequestInit::new();
    init.with_method(Method::Get);
    init.with_headers(req.headers().clone());
    let inner = Request::new_with_init(url.as_str(), &init)?;
    Address { namespace: to, name: name.to_owned() }.stub(env)?.fetch_with_request(inner).await
}
