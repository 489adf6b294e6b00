fn main() {
    yew::Renderer::<consult_ui::App>::new().render();
}
