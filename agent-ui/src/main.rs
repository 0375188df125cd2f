fn main() {
    leptos::mount::mount_to_body(confab_agent_ui::AgentDesktop);
}
