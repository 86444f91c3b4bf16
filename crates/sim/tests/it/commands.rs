//! An answer to every one of the ten commands (REALTIMEPOS_INTERVAL is in `lifecycle`).

use acsp::{Command, Event, SessionType};

use crate::support::{config, start};

fn is_error(e: &Event) -> bool {
    matches!(e, Event::Error(_))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_car_info_for_a_driver_an_empty_slot_and_a_bad_index() {
    let mut rig = start(config()).await;
    rig.wait_loaded(4).await;
    rig.client.get_car_info(1).await.unwrap();
    let (Event::CarInfo(c), _) = rig.wait_for("car_info 1", |e| matches!(e, Event::CarInfo(_))).await else {
        unreachable!()
    };
    assert!(c.car_id == 1 && c.is_connected && !c.driver_name.is_empty() && c.driver_guid.len() == 17);

    // Slot 5 is in the entry list but nobody drives it: the stock server answers anyway.
    rig.client.get_car_info(5).await.unwrap();
    let (Event::CarInfo(c), _) = rig.wait_for("car_info 5", |e| matches!(e, Event::CarInfo(_))).await else {
        unreachable!()
    };
    assert!(c.car_id == 5 && !c.is_connected && c.driver_name.is_empty() && !c.car_model.is_empty());

    rig.client.get_car_info(6).await.unwrap();
    let (Event::Error(e), _) = rig.wait_for("error", is_error).await else { unreachable!() };
    assert_eq!(e.message, "ERROR: ACSP_GET_CAR_INFO index 6 out of bound");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_and_set_session_info() {
    let mut rig = start(config()).await;
    // The start-up request's answer.
    rig.wait_for("startup session_info", |e| matches!(e, Event::SessionInfo(_))).await;

    rig.client.get_session_info(1).await.unwrap();
    let (Event::SessionInfo(i), _) =
        rig.wait_for("session_info 1", |e| matches!(e, Event::SessionInfo(_))).await
    else {
        unreachable!()
    };
    assert_eq!((i.session_index, i.current_session_index, i.session_type), (1, 0, SessionType::Race));
    assert_eq!((i.laps, i.wait_time), (5, 30_000));

    rig.client.get_session_info(7).await.unwrap();
    let (Event::Error(e), _) = rig.wait_for("error", is_error).await else { unreachable!() };
    assert_eq!(e.message, "ERROR: ACSP_GET_SESSION_INFO out of bounds: 7");

    // Seconds in the command, minutes (time) and milliseconds (wait) in the answer.
    rig.client.set_session_info(1, "Sprint", SessionType::Race, 7, 900, 20).await.unwrap();
    let (Event::SessionInfo(i), _) =
        rig.wait_for("session_info", |e| matches!(e, Event::SessionInfo(_))).await
    else {
        unreachable!()
    };
    assert_eq!((i.session_index, i.name.as_str(), i.laps, i.time, i.wait_time), (1, "Sprint", 7, 15, 20_000));
    rig.client.get_session_info(1).await.unwrap();
    let (Event::SessionInfo(again), _) =
        rig.wait_for("session_info", |e| matches!(e, Event::SessionInfo(_))).await
    else {
        unreachable!()
    };
    assert_eq!(again.name, "Sprint", "the change sticks");

    rig.client.set_session_info(9, "Nope", SessionType::Practice, 0, 60, 0).await.unwrap();
    let (Event::Error(e), _) = rig.wait_for("error", is_error).await else { unreachable!() };
    assert!(e.message.contains("out of bounds: 9"), "{}", e.message);
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kick_user_closes_the_connection() {
    let mut rig = start(config()).await;
    rig.wait_loaded(4).await;
    rig.client.kick_user(2).await.unwrap();
    let (Event::ConnectionClosed(c), _) =
        rig.wait_for("connection_closed", |e| matches!(e, Event::ConnectionClosed(_))).await
    else {
        unreachable!()
    };
    assert_eq!(c.car_id, 2);
    assert!(!c.driver_name.is_empty());
    rig.client.get_car_info(2).await.unwrap();
    let (Event::CarInfo(info), _) = rig.wait_for("car_info", |e| matches!(e, Event::CarInfo(_))).await else {
        unreachable!()
    };
    assert!(!info.is_connected);

    rig.client.kick_user(200).await.unwrap();
    let (Event::Error(e), _) = rig.wait_for("error", is_error).await else { unreachable!() };
    assert_eq!(e.message, "ERROR: ACSP_KICK_USER index 200 out of bound");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_and_restart_session() {
    let mut rig = start(config()).await;
    rig.wait_for("startup session_info", |e| matches!(e, Event::SessionInfo(_))).await;

    rig.client.next_session().await.unwrap();
    let (Event::EndSession(end), _) =
        rig.wait_for("end_session", |e| matches!(e, Event::EndSession(_))).await
    else {
        unreachable!()
    };
    assert!(end.filename.ends_with("_PRACTICE.json"), "{}", end.filename);
    let Event::NewSession(s) = rig.next().await else { panic!("NEW_SESSION must follow END_SESSION") };
    assert_eq!((s.session_index, s.session_type, s.elapsed_ms), (1, SessionType::Race, -30_000));

    rig.client.restart_session().await.unwrap();
    let (Event::NewSession(s), skipped) =
        rig.wait_for("new_session", |e| matches!(e, Event::NewSession(_))).await
    else {
        unreachable!()
    };
    assert_eq!((s.session_index, s.elapsed_ms), (1, -30_000), "same session, from its start");
    assert!(!skipped.iter().any(|e| matches!(e, Event::EndSession(_))), "a restart does not end the session");
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_commands_are_recorded_by_the_simulator() {
    let rig = start(config()).await;
    rig.client.send_chat(1, "box this lap").await.unwrap();
    rig.client.broadcast_chat("welcome, è tutto ok").await.unwrap();
    let r = rig.wait_for_command(|r| matches!(&r.command, Command::SendChat { .. })).await;
    assert_eq!(r.command, Command::SendChat { car_id: 1, message: "box this lap".into() });
    assert_eq!(r.from, rig.client.local_addr());
    let r = rig.wait_for_command(|r| matches!(&r.command, Command::BroadcastChat { .. })).await;
    assert_eq!(r.command, Command::BroadcastChat { message: "welcome, è tutto ok".into() });
    let summary = rig.stop().await;
    // The start-up GET_SESSION_INFO and the two chats.
    assert_eq!(summary.stats.commands_received, 3);
    assert_eq!(summary.stats.sent("error"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_are_executed_or_ignored() {
    let mut rig = start(config()).await;
    rig.wait_loaded(4).await;

    rig.client.admin_command("/kick_id 3").await.unwrap();
    let (Event::ConnectionClosed(c), _) =
        rig.wait_for("connection_closed", |e| matches!(e, Event::ConnectionClosed(_))).await
    else {
        unreachable!()
    };
    assert_eq!(c.car_id, 3);

    rig.client.admin_command("/next_session").await.unwrap();
    rig.wait_for("end_session", |e| matches!(e, Event::EndSession(_))).await;
    let Event::NewSession(s) = rig.next().await else { panic!("NEW_SESSION must follow END_SESSION") };
    assert_eq!(s.session_index, 1);

    // Not simulated: recorded, no answer and no error.
    rig.client.admin_command("/ballast 1 50").await.unwrap();
    rig.wait_for_command(|r| r.command == Command::AdminCommand { command: "/ballast 1 50".into() }).await;
    rig.client.admin_command("/restart_session").await.unwrap();
    let (Event::NewSession(s), skipped) =
        rig.wait_for("new_session", |e| matches!(e, Event::NewSession(_))).await
    else {
        unreachable!()
    };
    assert_eq!(s.session_index, 1);
    assert!(!skipped.iter().any(is_error));
    rig.stop().await;
}
