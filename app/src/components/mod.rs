pub mod live_panel;
