//! The embedded development broker: librdkafka's in-process mock cluster.
//!
//! It speaks the real Kafka protocol on a loopback port, keeps everything in memory (about
//! 5 MiB or 100k messages per partition), has no admin API and no persistence. The mock
//! handle is not `Send`, so it lives on its own thread and is driven through a channel.

use std::sync::mpsc;
use std::thread::JoinHandle;

use rdkafka::mocking::MockCluster;

enum Command {
    CreateTopic {
        name: String,
        partitions: i32,
        done: mpsc::Sender<Result<(), EmbeddedError>>,
    },
    /// Delay every answer of the broker by this much (fault injection).
    Delay {
        delay: std::time::Duration,
        done: mpsc::Sender<Result<(), EmbeddedError>>,
    },
    /// Answer the next produce requests with these Kafka errors (fault injection).
    FailProduce {
        errors: Vec<rdkafka::types::RDKafkaRespErr>,
        done: mpsc::Sender<Result<(), EmbeddedError>>,
    },
}

/// Why the embedded broker could not do what it was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbeddedError {
    /// Its thread could not start.
    #[error("cannot start the embedded broker thread: {0}")]
    Thread(String),
    /// The mock cluster refused.
    #[error("{0}")]
    Mock(String),
    /// It is stopped (or its thread died).
    #[error("the embedded broker is stopped")]
    Stopped,
}

/// A running embedded broker; stopped when dropped.
pub struct EmbeddedBroker {
    bootstrap: String,
    commands: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
}

impl EmbeddedBroker {
    /// Starts a one-broker mock cluster on a loopback port.
    pub fn start() -> Result<Self, EmbeddedError> {
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, EmbeddedError>>();
        let (commands, command_rx) = mpsc::channel::<Command>();
        let thread = std::thread::Builder::new()
            .name("sluice-embedded-kafka".to_owned())
            .spawn(move || {
                let mock = match MockCluster::new(1) {
                    Ok(mock) => mock,
                    Err(error) => {
                        let _ = ready_tx.send(Err(EmbeddedError::Mock(error.to_string())));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(mock.bootstrap_servers()));
                // Runs until every sender is dropped.
                for command in command_rx {
                    match command {
                        Command::CreateTopic {
                            name,
                            partitions,
                            done,
                        } => {
                            let result = mock
                                .create_topic(&name, partitions, 1)
                                .map_err(|e| EmbeddedError::Mock(e.to_string()));
                            let _ = done.send(result);
                        }
                        Command::Delay { delay, done } => {
                            let result = mock
                                .broker_round_trip_time(1, delay)
                                .map_err(|e| EmbeddedError::Mock(e.to_string()));
                            let _ = done.send(result);
                        }
                        Command::FailProduce { errors, done } => {
                            mock.request_errors(rdkafka::types::RDKafkaApiKey::Produce, &errors);
                            let _ = done.send(Ok(()));
                        }
                    }
                }
            })
            .map_err(|e| EmbeddedError::Thread(e.to_string()))?;
        let bootstrap = ready_rx.recv().map_err(|_| EmbeddedError::Stopped)??;
        Ok(Self {
            bootstrap,
            commands: Some(commands),
            thread: Some(thread),
        })
    }

    /// `host:port` of the broker.
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Creates `name` with `partitions` partitions; an existing topic is left as it is.
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<(), EmbeddedError> {
        let (done, result) = mpsc::channel();
        self.command(Command::CreateTopic {
            name: name.to_owned(),
            partitions,
            done,
        })?;
        match result.recv() {
            Ok(Ok(())) => Ok(()),
            Ok(Err(EmbeddedError::Mock(message))) if message.contains("exists") => Ok(()),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(EmbeddedError::Stopped),
        }
    }

    /// Fault injection for tests: the next produce requests are answered with `errors`, one
    /// each, in order.
    pub fn fail_produce(
        &self,
        errors: Vec<rdkafka::types::RDKafkaRespErr>,
    ) -> Result<(), EmbeddedError> {
        let (done, result) = mpsc::channel();
        self.command(Command::FailProduce { errors, done })?;
        result.recv().map_err(|_| EmbeddedError::Stopped)?
    }

    /// Fault injection for tests: every answer of the broker comes `delay` late
    /// (`Duration::ZERO` to stop).
    pub fn delay(&self, delay: std::time::Duration) -> Result<(), EmbeddedError> {
        let (done, result) = mpsc::channel();
        self.command(Command::Delay { delay, done })?;
        result.recv().map_err(|_| EmbeddedError::Stopped)?
    }

    fn command(&self, command: Command) -> Result<(), EmbeddedError> {
        self.commands
            .as_ref()
            .ok_or(EmbeddedError::Stopped)?
            .send(command)
            .map_err(|_| EmbeddedError::Stopped)
    }
}

impl Drop for EmbeddedBroker {
    fn drop(&mut self) {
        self.commands.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
