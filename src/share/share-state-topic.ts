// The name of the share engine's state topic, in a module of its own: the broker names the topic
// at start-up whether or not shared subscriptions are served, and must not load the engine for it.

export const SHARE_STATE_TOPIC_NAME = '__share_group_state';
