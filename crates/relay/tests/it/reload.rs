//! Plugins added and removed while the relay runs, and the metrics that show them.

use std::time::Duration;

use acsp::Event;
use relay::{Limits, PluginConfig};

use crate::{Rig, drain, free_addr, grid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_come_and_go_without_disturbing_the_others() {
    let (a, b, c) = (free_addr(), free_addr(), free_addr());
    let mut rig = Rig::new(grid(2, 1.0), &[("a", a), ("b", b)], None, Limits::default()).await;
    let mut ca = rig.client("a", a, Some(100)).await;
    let mut cb = rig.client("b", b, Some(50)).await;
    rig.start();
    let before = drain(&mut ca, Duration::from_secs(1)).await;
    let plugins = |names: &[(&str, std::net::SocketAddr)]| -> Vec<PluginConfig> {
        names.iter().map(|(n, addr)| PluginConfig { name: (*n).into(), addr: *addr, reply: None }).collect()
    };
    let reload = rig.relay.set_plugins(&plugins(&[("a", a), ("c", c)])).unwrap();
    assert_eq!(reload.kept, ["a"]);
    assert_eq!(reload.removed, ["b"]);
    assert_eq!(reload.added.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["c"]);
    assert_eq!(rig.relay.stats().server_interval, Some(100), "b wanted 50 ms and left");
    let mut cc = rig.client("c", c, None).await;
    drain(&mut cb, Duration::from_millis(200)).await;
    let after_a = drain(&mut ca, Duration::from_secs(1)).await;
    let after_c = drain(&mut cc, Duration::from_millis(100)).await;
    let after_b = drain(&mut cb, Duration::from_millis(100)).await;

    let updates = |v: &[(std::time::Instant, Event)]| {
        v.iter().filter(|(_, e)| matches!(e, Event::CarUpdate(_))).count()
    };
    assert!(updates(&before) >= 10, "{}", updates(&before));
    assert!(updates(&after_a) >= 15, "a kept going: {}", updates(&after_a));
    assert!(!after_c.is_empty(), "c gets events from its start");
    assert!(after_b.is_empty(), "b gets nothing once removed");

    let text = rig.relay.metrics_text();
    assert!(text.contains("pitwall_relay_plugins 2\n"), "{text}");
    assert!(text.contains("pitwall_relay_server_interval_ms 100\n"), "{text}");
    assert!(text.contains("pitwall_relay_plugin_interval_ms{plugin=\"a\"} 100\n"), "{text}");
    assert!(!text.contains("plugin=\"b\""), "{text}");
    assert!(text.contains("pitwall_relay_plugin_datagrams_out_total{plugin=\"c\"}"), "{text}");

    // Served over HTTP too.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(relay::metrics::serve(listener, rig.relay.clone(), async move {
        let _ = stopped.await;
    }));
    let body = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    })
    .await
    .unwrap();
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains("pitwall_relay_plugin_datagrams_in_total{plugin=\"a\"}"), "{body}");
    let _ = stop.send(());
    server.await.unwrap().unwrap();

    rig.stop_server().await;
    rig.stop_relay().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_or_a_bad_list_is_an_error_that_changes_nothing() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut config = relay::RelayConfig::new(free_addr(), "127.0.0.1:0".parse().unwrap());
    config.plugins = vec![
        PluginConfig { name: "a".into(), addr: free_addr(), reply: None },
        PluginConfig { name: "b".into(), addr: free_addr(), reply: Some(port) },
    ];
    let e = relay::Relay::bind(config.clone()).await.unwrap_err();
    assert!(e.to_string().contains("plugin `b`"), "{e}");

    config.plugins.truncate(1);
    let relay = relay::Relay::bind(config).await.unwrap();
    let handle = relay.handle();
    let twice = vec![
        PluginConfig { name: "c".into(), addr: free_addr(), reply: None },
        PluginConfig { name: "c".into(), addr: free_addr(), reply: None },
    ];
    assert!(handle.set_plugins(&twice).unwrap_err().to_string().contains("twice"));
    assert_eq!(handle.stats().plugins.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["a"]);
    relay.run_until(async {}).await;
}
