// Loads the widget's wasm (app.js resolves app_bg.wasm next to itself).
import init from "./app.js";
init();
