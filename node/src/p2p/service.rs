//! The network task: owns the libp2p swarm and turns commands and swarm events into effects.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use futures::stream::FuturesUnordered;
use futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, TopicHash};
use libp2p::request_response::{
    self, OutboundFailure, OutboundRequestId, ProtocolSupport, ResponseChannel,
};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{NetworkBehaviour, SwarmEvent};
use libp2p::{noise, tcp, yamux, Multiaddr, PeerId, Swarm};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::backoff::Redialer;
use super::codec::{SyncCodec, SyncRequest, SyncResponse, SYNC_PROTOCOL};
use super::scoring::{Offence, PeerScores};
use super::{
    Command, GossipMessage, NetError, NetEvent, Network, NetworkConfig, SyncResponder, Topic,
    Verdict,
};
use crate::keys::NodeKey;

/// Room for gossipsub framing on top of the largest payload.
const GOSSIP_OVERHEAD: usize = 4 * 1024;
/// Bytes of the publish number that precedes every gossip payload on the wire.
const PUBLISH_NUMBER_BYTES: usize = 8;
const EVENT_QUEUE: usize = 4096;
const COMMAND_QUEUE: usize = 1024;
const TICK: Duration = Duration::from_millis(50);

#[derive(NetworkBehaviour)]
struct Behaviour {
    gossipsub: gossipsub::Behaviour,
    sync: request_response::Behaviour<SyncCodec>,
}

type PendingResponse = std::pin::Pin<
    Box<
        dyn std::future::Future<Output = (ResponseChannel<SyncResponse>, Option<SyncResponse>)>
            + Send,
    >,
>;

/// An outbound sync request awaiting its answer: who was asked, what, and where to reply.
type PendingRequest = (
    PeerId,
    SyncRequest,
    oneshot::Sender<Result<SyncResponse, NetError>>,
);

struct Service {
    swarm: Swarm<Behaviour>,
    config: NetworkConfig,
    topics: HashMap<TopicHash, Topic>,
    topic_hashes: HashMap<Topic, TopicHash>,
    addresses: HashMap<PeerId, Multiaddr>,
    redialer: Redialer,
    scores: PeerScores,
    events: mpsc::Sender<NetEvent>,
    outbound: HashMap<OutboundRequestId, PendingRequest>,
    responses: FuturesUnordered<PendingResponse>,
    /// Peers reported to the upper layer as connected.
    connected: HashSet<PeerId>,
    /// Number of the next publish (see [`frame`]).
    next_publish: u64,
}

/// The wire form of a gossip payload: a publish number, then the payload.
///
/// Gossip message ids are content hashes, and gossipsub refuses to publish an id it has seen
/// within its duplicate window. Consensus re-sends the very same vote or proposal when a round
/// makes no progress (a peer may have missed the first copy, for example before the mesh
/// formed); the publish number makes each re-send a new message, while copies of one publish
/// relayed through the mesh keep one id and are still deduplicated.
fn frame(number: u64, data: &[u8]) -> Vec<u8> {
    let mut wire = Vec::with_capacity(PUBLISH_NUMBER_BYTES + data.len());
    wire.extend_from_slice(&number.to_be_bytes());
    wire.extend_from_slice(data);
    wire
}

/// The payload of a wire message, or `None` when it is too short to carry a publish number.
fn unframe(mut wire: Vec<u8>) -> Option<Vec<u8>> {
    if wire.len() < PUBLISH_NUMBER_BYTES {
        return None;
    }
    wire.drain(..PUBLISH_NUMBER_BYTES);
    Some(wire)
}

/// Starts the network task: builds the swarm, starts listening, dials persistent peers.
pub fn spawn(key: &NodeKey, config: NetworkConfig) -> Result<Network, NetError> {
    let setup = |e: &dyn std::fmt::Display| NetError::Setup(e.to_string());
    let largest = config
        .max_tx_bytes
        .max(config.max_proposal_bytes)
        .max(config.max_vote_bytes);
    let gossip_config = gossipsub::ConfigBuilder::default()
        .heartbeat_interval(config.heartbeat)
        .validate_messages()
        // Every payload signs itself (transactions, proposals and votes carry their own
        // signatures), so gossip messages carry no author, sequence number or libp2p signature:
        // a libp2p signature per message (checked again on every duplicate received) would
        // cost as much as the payload checks.
        .validation_mode(gossipsub::ValidationMode::Anonymous)
        .max_transmit_size(largest + PUBLISH_NUMBER_BYTES + GOSSIP_OVERHEAD)
        .message_id_fn(|m: &gossipsub::Message| {
            gossipsub::MessageId::from(blake3::hash(&m.data).as_bytes().to_vec())
        })
        .build()
        .map_err(|e| setup(&e))?;
    let sync_codec = SyncCodec {
        max_response_bytes: config.max_sync_response_bytes,
    };
    let sync_timeout = config.sync_timeout;
    let keypair = key.libp2p_keypair();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| setup(&e))?
        .with_behaviour(|_key| {
            let gossipsub =
                gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)?;
            let sync = request_response::Behaviour::with_codec(
                sync_codec,
                [(SYNC_PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(sync_timeout),
            );
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Behaviour { gossipsub, sync })
        })
        .map_err(|e| setup(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(3600)))
        .build();

    let mut topics = HashMap::new();
    let mut topic_hashes = HashMap::new();
    for topic in Topic::ALL {
        let t = IdentTopic::new(topic.topic_string(&config.network_id));
        swarm
            .behaviour_mut()
            .gossipsub
            .subscribe(&t)
            .map_err(|e| setup(&e))?;
        topics.insert(t.hash(), topic);
        topic_hashes.insert(topic, t.hash());
    }
    swarm
        .listen_on(config.listen.clone())
        .map_err(|e| setup(&e))?;

    let addresses: HashMap<PeerId, Multiaddr> = config
        .persistent_peers
        .iter()
        .map(|p| (p.peer_id, p.addr.clone()))
        .collect();
    let redialer = Redialer::new(
        config.redial_initial,
        config.redial_max,
        addresses.keys().copied(),
    );
    let scores = PeerScores::new(config.ban_duration);
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
    let (ev_tx, ev_rx) = mpsc::channel(EVENT_QUEUE);
    let service = Service {
        swarm,
        config,
        topics,
        topic_hashes,
        addresses,
        redialer,
        scores,
        events: ev_tx,
        outbound: HashMap::new(),
        responses: FuturesUnordered::new(),
        connected: HashSet::new(),
        // Starts from the clock so that a restarted node does not repeat its earlier numbers.
        next_publish: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    };
    let task = tokio::spawn(service.run(cmd_rx));
    Ok(Network {
        handle: super::handle(cmd_tx, key),
        events: ev_rx,
        task,
    })
}

impl Service {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    None | Some(Command::Shutdown) => break,
                    Some(cmd) => self.on_command(cmd).await,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event).await,
                Some((channel, response)) = self.responses.next(), if !self.responses.is_empty() => {
                    if let Some(response) = response {
                        if self.swarm.behaviour_mut().sync.send_response(channel, response).is_err() {
                            debug!("sync response dropped: the requester went away");
                        }
                    }
                }
                _ = tick.tick() => self.on_tick().await,
            }
        }
        info!("network task stopped");
    }

    async fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Publish { topic, data, reply } => {
                let limit = self.config.limit(topic);
                let result = if data.len() > limit {
                    Err(NetError::TooLarge {
                        topic,
                        size: data.len(),
                        limit,
                    })
                } else {
                    match self.topic_hashes.get(&topic) {
                        Some(hash) => {
                            let number = self.next_publish;
                            self.next_publish = number.wrapping_add(1);
                            self.swarm
                                .behaviour_mut()
                                .gossipsub
                                .publish(hash.clone(), frame(number, &data))
                                .map(|_| ())
                                .map_err(|e| NetError::Publish(e.to_string()))
                        }
                        None => Err(NetError::Publish(format!("topic {topic:?} is not joined"))),
                    }
                };
                let _ = reply.send(result);
            }
            Command::Validate { id, from, verdict } => {
                let acceptance = match verdict {
                    Verdict::Accept => MessageAcceptance::Accept,
                    Verdict::Ignore => MessageAcceptance::Ignore,
                    Verdict::Reject => MessageAcceptance::Reject,
                };
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &from, acceptance);
                if verdict == Verdict::Reject {
                    self.penalise(from, Offence::Invalid).await;
                }
            }
            Command::RequestBlocks {
                peer,
                request,
                reply,
            } => {
                if request.is_empty() || request.len() > self.config.max_sync_blocks {
                    let _ = reply.send(Err(NetError::Sync {
                        peer,
                        reason: format!(
                            "range {}..={} must hold 1 to {} heights",
                            request.from, request.to, self.config.max_sync_blocks
                        ),
                    }));
                    return;
                }
                let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
                self.outbound.insert(id, (peer, request, reply));
            }
            Command::ReportPeer { peer, offence } => self.penalise(peer, offence).await,
            Command::Peers { reply } => {
                let _ = reply.send(self.swarm.connected_peers().copied().collect());
            }
            Command::Shutdown => {}
        }
    }

    async fn emit(&mut self, event: NetEvent) {
        // The receiver is gone only during shutdown; nothing to do then.
        let _ = self.events.send(event).await;
    }

    /// Refuses to forward a gossip message and penalises the peer that sent it.
    async fn reject_gossip(
        &mut self,
        message_id: &gossipsub::MessageId,
        source: PeerId,
        offence: Offence,
    ) {
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(message_id, &source, MessageAcceptance::Reject);
        self.penalise(source, offence).await;
    }

    async fn penalise(&mut self, peer: PeerId, offence: Offence) {
        let now = Instant::now();
        let penalty = self.scores.penalise(peer, offence, now);
        warn!(%peer, %offence, score = penalty.score, banned = penalty.banned, "peer penalised");
        if penalty.banned {
            self.swarm.behaviour_mut().gossipsub.blacklist_peer(&peer);
            let _ = self.swarm.disconnect_peer_id(peer);
            self.redialer
                .postpone(&peer, now + self.config.ban_duration);
        }
        self.emit(NetEvent::PeerPenalised {
            peer,
            offence,
            score: penalty.score,
            banned: penalty.banned,
        })
        .await;
    }

    async fn on_tick(&mut self) {
        let now = Instant::now();
        for peer in self.scores.expire(now) {
            info!(%peer, "ban lifted");
            self.swarm
                .behaviour_mut()
                .gossipsub
                .remove_blacklisted_peer(&peer);
        }
        for peer in self.redialer.due(now) {
            if self.scores.is_banned(&peer, now) {
                self.redialer.schedule_failure(&peer, now);
                continue;
            }
            let Some(addr) = self.addresses.get(&peer).cloned() else {
                continue;
            };
            let opts = DialOpts::peer_id(peer)
                .addresses(vec![addr])
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            if let Err(e) = self.swarm.dial(opts) {
                debug!(%peer, error = %e, "dial not started");
                if !self.swarm.is_connected(&peer) {
                    self.schedule_redial(peer, now).await;
                } else {
                    self.redialer.connected(&peer);
                }
            }
        }
    }

    async fn schedule_redial(&mut self, peer: PeerId, now: Instant) {
        if let Some(plan) = self.redialer.schedule_failure(&peer, now) {
            debug!(%peer, attempt = plan.attempt, delay_ms = plan.delay.as_millis() as u64, "redial scheduled");
            self.emit(NetEvent::Redialing {
                peer,
                attempt: plan.attempt,
                delay: plan.delay,
            })
            .await;
        }
    }

    async fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "p2p listening");
                self.emit(NetEvent::Listening { addr: address }).await;
            }
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if self.scores.is_banned(&peer_id, Instant::now()) {
                    debug!(peer = %peer_id, "refusing banned peer");
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                self.redialer.connected(&peer_id);
                if self.connected.insert(peer_id) {
                    info!(peer = %peer_id, "peer connected");
                    self.emit(NetEvent::PeerConnected { peer: peer_id }).await;
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                // Connections refused right after opening (banned peers) were never reported.
                if self.connected.remove(&peer_id) {
                    info!(peer = %peer_id, "peer disconnected");
                    self.emit(NetEvent::PeerDisconnected { peer: peer_id })
                        .await;
                }
                self.schedule_redial(peer_id, Instant::now()).await;
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } => {
                debug!(%peer, %error, "dial failed");
                if !self.swarm.is_connected(&peer) {
                    self.schedule_redial(peer, Instant::now()).await;
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.on_gossip(event).await,
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event).await,
            _ => {}
        }
    }

    async fn on_gossip(&mut self, event: gossipsub::Event) {
        let (propagation_source, message_id, message) = match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => (propagation_source, message_id, message),
            gossipsub::Event::Subscribed { peer_id, topic } => {
                if let Some(&topic) = self.topics.get(&topic) {
                    self.emit(NetEvent::PeerSubscribed {
                        peer: peer_id,
                        topic,
                    })
                    .await;
                }
                return;
            }
            _ => return,
        };
        let Some(&topic) = self.topics.get(&message.topic) else {
            self.reject_gossip(&message_id, propagation_source, Offence::Invalid)
                .await;
            return;
        };
        let limit = self.config.limit(topic);
        if message.data.len() > limit + PUBLISH_NUMBER_BYTES {
            debug!(peer = %propagation_source, size = message.data.len(), limit, ?topic, "oversized gossip");
            self.reject_gossip(&message_id, propagation_source, Offence::Oversized)
                .await;
            return;
        }
        let Some(data) = unframe(message.data) else {
            self.reject_gossip(&message_id, propagation_source, Offence::Invalid)
                .await;
            return;
        };
        let msg = GossipMessage {
            topic,
            from: propagation_source,
            id: message_id,
            data,
        };
        if let Err(mpsc::error::TrySendError::Full(NetEvent::Gossip(msg))) =
            self.events.try_send(NetEvent::Gossip(msg))
        {
            warn!(?topic, "event queue full: gossip message ignored");
            self.swarm
                .behaviour_mut()
                .gossipsub
                .report_message_validation_result(&msg.id, &msg.from, MessageAcceptance::Ignore);
        }
    }

    async fn on_sync(&mut self, event: request_response::Event<SyncRequest, SyncResponse>) {
        use request_response::{Event, Message};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request, channel, ..
                    },
                ..
            } => {
                if request.is_empty() || request.len() > self.config.max_sync_blocks {
                    self.penalise(peer, Offence::BadRequest).await;
                    return;
                }
                let (tx, rx) = oneshot::channel();
                self.responses
                    .push(Box::pin(async move { (channel, rx.await.ok()) }));
                self.emit(NetEvent::SyncRequest {
                    peer,
                    request,
                    responder: SyncResponder { tx },
                })
                .await;
            }
            Event::Message {
                peer,
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some((_, request, reply)) = self.outbound.remove(&request_id) else {
                    return;
                };
                match response.matches(&request) {
                    Ok(()) => {
                        let _ = reply.send(Ok(response));
                    }
                    Err(reason) => {
                        self.penalise(peer, Offence::BadSyncResponse).await;
                        let _ = reply.send(Err(NetError::Sync { peer, reason }));
                    }
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                let Some((_, _, reply)) = self.outbound.remove(&request_id) else {
                    return;
                };
                let reason = error.to_string();
                if let OutboundFailure::Io(e) = &error {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        self.penalise(peer, Offence::Oversized).await;
                    }
                }
                let _ = reply.send(Err(NetError::Sync { peer, reason }));
            }
            Event::InboundFailure { peer, error, .. } => {
                debug!(%peer, %error, "inbound sync request failed");
            }
            Event::ResponseSent { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{frame, unframe};

    #[test]
    fn frames_round_trip_and_short_messages_are_refused() {
        assert_eq!(unframe(frame(7, b"vote")), Some(b"vote".to_vec()));
        assert_eq!(unframe(frame(u64::MAX, b"")), Some(Vec::new()));
        assert_ne!(frame(1, b"vote"), frame(2, b"vote"));
        assert_eq!(unframe(vec![0; 7]), None);
    }
}
