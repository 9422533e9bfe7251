//! End-to-end tests: each test spawns the service (router + stream poller) on a random port with
//! its own table and cache prefix, against the real DynamoDB Local and Redis that `make test`
//! starts, and drives it over HTTP. One binary, so linking happens once.

mod helpers;

mod admin;
mod auth;
mod bulk;
mod cli;
mod errors;
mod fanout;
mod lambda;
mod poller;
mod reads;
mod robustness;
mod routes;
mod timeline;
mod web;
