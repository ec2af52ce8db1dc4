"""What a message, a reaction, a button or a form *does*, as plain functions over typed payloads and a workspace's
dependencies. Listeners (`bot/listeners/`) parse, call one of these and answer; no listener imports another."""
