pub mod latency_chart;
pub mod live_feed;
pub mod live_panel;
pub mod uptime_bar;
