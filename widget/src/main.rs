fn main() {
    leptos::mount::mount_to_body(confab_widget::Widget);
}
