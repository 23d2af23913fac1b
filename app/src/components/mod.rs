pub mod causes;
pub mod latency_chart;
pub mod live_feed;
pub mod live_panel;
pub mod time_stack;
pub mod uptime_bar;
