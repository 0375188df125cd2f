//! A site owner's page on its own origin, embedding the widget with the one-line script tag.

use anyhow::Result;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Serves one HTML page at every path on 127.0.0.1:`port` until dropped.
///
/// The listener is bound when the page is created and kept until it is dropped, so a port picked with 0 can
/// never be taken by another server between choosing it and serving on it; the page itself may be set later
/// ([`HostPage::set_page`]), once what it embeds (the edge, a site allowing this origin) is running.
pub struct HostPage {
    port: u16,
    page: Arc<Mutex<Page>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What the host page answers: its HTML and extra response header lines.
#[derive(Default)]
struct Page {
    html: String,
    headers: String,
}

impl HostPage {
    /// Serves [`HostPage::demo_html`] for the edge at `edge_origin` and `site`. `port` 0 picks a free one.
    pub fn start(port: u16, edge_origin: &str, site: &str) -> Result<HostPage> {
        Self::serve(port, Self::demo_html(edge_origin, site))
    }

    pub fn serve(port: u16, html: String) -> Result<HostPage> {
        Self::serve_with_headers(port, html, String::new())
    }

    /// Like [`HostPage::serve`], with extra response header lines (`name: value\r\n` each), like a CSP.
    pub fn serve_with_headers(port: u16, html: String, headers: String) -> Result<HostPage> {
        let host = Self::bind(port)?;
        host.set_page(html, headers);
        Ok(host)
    }

    /// Listens on `port` (0: any free one) and answers an empty page until [`HostPage::set_page`].
    pub fn bind(port: u16) -> Result<HostPage> {
        let listener = TcpListener::bind(("127.0.0.1", port)).map_err(|e| {
            anyhow::anyhow!("cannot serve the demo page on 127.0.0.1:{port}: {e} (port in use? pick another)")
        })?;
        let port = listener.local_addr()?.port();
        let page = Arc::new(Mutex::new(Page::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (page, stop) = (page.clone(), stop.clone());
            move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        let (html, headers) = match page.lock() {
                            Ok(page) => (page.html.clone(), page.headers.clone()),
                            Err(_) => break,
                        };
                        let _ = answer(stream, &html, &headers);
                    }
                }
            }
        });
        Ok(HostPage { port, page, stop, thread: Some(thread) })
    }

    /// From now on, answers `html` with the extra header lines `headers`.
    pub fn set_page(&self, html: String, headers: String) {
        if let Ok(mut page) = self.page.lock() {
            *page = Page { html, headers };
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A plausible shop page: the only Confab thing on it is the script tag.
    pub fn demo_html(edge_origin: &str, site: &str) -> String {
        Self::demo_html_with(edge_origin, site, "")
    }

    /// [`HostPage::demo_html`] with `extra` HTML after the script tag (a page's own use of `window.Confab`).
    pub fn demo_html_with(edge_origin: &str, site: &str, extra: &str) -> String {
        format!(
            r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Demo Shop</title>
<style>
body {{ margin: 0; font: 16px/1.5 Georgia, serif; color: #222; background: #faf7f2; }}
header {{ padding: 20px 40px; background: #2d2a26; color: #f5efe6; font-size: 22px; letter-spacing: .05em; }}
main {{ padding: 40px; max-width: 760px; }}
.products {{ display: grid; grid-template-columns: repeat(3, 1fr); gap: 20px; margin-top: 24px; }}
.product {{ background: #fff; border: 1px solid #e6dfd3; border-radius: 8px; padding: 16px; }}
.swatch {{ height: 90px; border-radius: 6px; margin-bottom: 10px; }}
</style>
</head>
<body>
<header>DEMO SHOP</header>
<main>
<h1>Handmade ceramics</h1>
<p>Questions about sizes, glazes or delivery? Open the chat in the corner: a real person answers.</p>
<div class="products">
<div class="product"><div class="swatch" style="background:#c9a27e"></div>Stoneware mug — €24</div>
<div class="product"><div class="swatch" style="background:#7c9a92"></div>Celadon bowl — €38</div>
<div class="product"><div class="swatch" style="background:#b5b1a8"></div>Ash vase — €56</div>
</div>
</main>
<script src="{edge_origin}/widget.js" data-site="{site}" async></script>
{extra}
</body>
</html>
"#
        )
    }
}

fn answer(mut stream: TcpStream, html: &str, headers: &str) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = [0u8; 4096];
    // One read is enough for a GET from a browser; the request itself does not matter.
    let _ = stream.read(&mut buf)?;
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-store\r\nconnection: close\r\n{headers}\r\n",
        html.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(html.as_bytes())?;
    stream.flush()
}

impl Drop for HostPage {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
