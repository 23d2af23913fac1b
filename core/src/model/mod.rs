pub mod live;
