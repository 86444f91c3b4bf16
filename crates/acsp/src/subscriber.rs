//! The subscriber style of acudpclient: one method per event, all no-ops by default.

use crate::event::Event;
use crate::types::*;

/// Implement the methods for the events you care about. [`on_event`](Subscriber::on_event) is
/// called first for every event, then the typed method.
#[allow(unused_variables)]
pub trait Subscriber: Send {
    /// Every event, before its typed method.
    fn on_event(&mut self, event: &Event) {}
    /// NEW_SESSION (50).
    fn on_new_session(&mut self, session: &SessionInfo) {}
    /// NEW_CONNECTION (51).
    fn on_new_connection(&mut self, connection: &ConnectionInfo) {}
    /// CONNECTION_CLOSED (52).
    fn on_connection_closed(&mut self, connection: &ConnectionInfo) {}
    /// CAR_UPDATE (53).
    fn on_car_update(&mut self, update: &CarUpdate) {}
    /// CAR_INFO (54).
    fn on_car_info(&mut self, info: &CarInfo) {}
    /// END_SESSION (55).
    fn on_end_session(&mut self, end: &EndSession) {}
    /// VERSION (56).
    fn on_version(&mut self, version: &Version) {}
    /// CHAT (57).
    fn on_chat(&mut self, chat: &Chat) {}
    /// CLIENT_LOADED (58).
    fn on_client_loaded(&mut self, loaded: &ClientLoaded) {}
    /// SESSION_INFO (59).
    fn on_session_info(&mut self, session: &SessionInfo) {}
    /// ERROR (60).
    fn on_error(&mut self, error: &ErrorMessage) {}
    /// LAP_COMPLETED (73).
    fn on_lap_completed(&mut self, lap: &LapCompleted) {}
    /// CLIENT_EVENT (130) subtype 10.
    fn on_collision_with_car(&mut self, collision: &CollisionWithCar) {}
    /// CLIENT_EVENT (130) subtype 11.
    fn on_collision_with_env(&mut self, collision: &CollisionWithEnv) {}
}

/// Calls `on_event`, then the typed method of `subscriber` for `event`.
pub fn dispatch<S: Subscriber + ?Sized>(event: &Event, subscriber: &mut S) {
    subscriber.on_event(event);
    match event {
        Event::NewSession(e) => subscriber.on_new_session(e),
        Event::NewConnection(e) => subscriber.on_new_connection(e),
        Event::ConnectionClosed(e) => subscriber.on_connection_closed(e),
        Event::CarUpdate(e) => subscriber.on_car_update(e),
        Event::CarInfo(e) => subscriber.on_car_info(e),
        Event::EndSession(e) => subscriber.on_end_session(e),
        Event::Version(e) => subscriber.on_version(e),
        Event::Chat(e) => subscriber.on_chat(e),
        Event::ClientLoaded(e) => subscriber.on_client_loaded(e),
        Event::SessionInfo(e) => subscriber.on_session_info(e),
        Event::Error(e) => subscriber.on_error(e),
        Event::LapCompleted(e) => subscriber.on_lap_completed(e),
        Event::CollisionWithCar(e) => subscriber.on_collision_with_car(e),
        Event::CollisionWithEnv(e) => subscriber.on_collision_with_env(e),
    }
}
