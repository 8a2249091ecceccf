//! A tiny DNS server on loopback: answers MX queries, NXDOMAIN for names it does not know.
//! Enough of RFC 1035 for a stub resolver, nothing more.
//!
//! Records set with [`DnsServer::set_mx`] win (tests point a domain anywhere). A server started
//! with [`DnsServer::start_for`] also answers for the simulated tenants' verified domains with
//! their Exchange Online MX, as a tenant whose mail already flows through Exchange Online would
//! (the local stack's `DNS_SERVER`).

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
};

use m365_sim_model::state::{SimState, lock};
use tokio::net::UdpSocket;

const TYPE_MX: u16 = 15;

type Records = Arc<Mutex<HashMap<String, Vec<String>>>>;

/// The server; it stops when dropped.
pub struct DnsServer {
    addr: SocketAddr,
    records: Records,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DnsServer {
    /// Starts on `127.0.0.1:0`, answering only what [`DnsServer::set_mx`] sets.
    pub async fn start() -> std::io::Result<Self> {
        Self::serve(SocketAddr::from(([127, 0, 0, 1], 0)), None).await
    }

    /// Starts on `listen`, also answering for the verified domains of `sim`'s tenants.
    pub async fn start_for(listen: SocketAddr, sim: Arc<SimState>) -> std::io::Result<Self> {
        Self::serve(listen, Some(sim)).await
    }

    async fn serve(listen: SocketAddr, sim: Option<Arc<SimState>>) -> std::io::Result<Self> {
        let socket = UdpSocket::bind(listen).await?;
        let addr = socket.local_addr()?;
        let records = Records::default();
        let map = records.clone();
        let task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((len, peer)) = socket.recv_from(&mut buf).await {
                let lookup = |name: &str| mx_of(name, &map, sim.as_deref());
                if let Some(answer) = respond(&buf[..len], lookup) {
                    let _ = socket.send_to(&answer, peer).await;
                }
            }
        });
        Ok(Self { addr, records, task })
    }

    /// The address to give the resolver (`DNS_SERVER`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets the MX hosts of `domain` (empty: the domain exists without MX).
    pub fn set_mx(&self, domain: &str, hosts: &[&str]) {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).insert(
            domain.to_ascii_lowercase(),
            hosts.iter().map(|h| (*h).to_owned()).collect(),
        );
    }
}

/// The MX hosts of `name`: set records first, then a simulated tenant's verified domain.
fn mx_of(
    name: &str,
    records: &Mutex<HashMap<String, Vec<String>>>,
    sim: Option<&SimState>,
) -> Option<Vec<String>> {
    if let Some(hosts) = records.lock().unwrap_or_else(|p| p.into_inner()).get(name) {
        return Some(hosts.clone());
    }
    let sim = sim?;
    let tenant = sim.tenant(&sim.domain_owner(name)?)?;
    let tenant = lock(&tenant);
    let domain = tenant
        .domains
        .iter()
        .find(|d| d.is_verified && d.name.eq_ignore_ascii_case(name))?;
    Some(vec![domain.exchange_mx()])
}

fn encode_name(name: &str, out: &mut Vec<u8>) {
    for label in name.trim_end_matches('.').split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
}

fn respond(query: &[u8], lookup: impl Fn(&str) -> Option<Vec<String>>) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    // The question: labels from offset 12, then type and class.
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = *query.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question_end = at + 4;
    let name = labels.join(".");
    let hosts = lookup(&name);
    let answers: Vec<String> = match (&hosts, qtype) {
        (Some(hosts), TYPE_MX) => hosts.clone(),
        _ => Vec::new(),
    };
    let rcode: u8 = if hosts.is_none() { 3 } else { 0 };
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(&query[0..2]);
    // QR, opcode of the query, AA, RD copied; RA set.
    out.push(0x84 | (query[2] & 0x01));
    out.push(0x80 | rcode);
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(answers.len() as u16).to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(query.get(12..question_end)?);
    for (preference, host) in answers.iter().enumerate() {
        out.extend_from_slice(&[0xC0, 0x0C]);
        out.extend_from_slice(&TYPE_MX.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&60u32.to_be_bytes());
        let mut rdata = (preference as u16 * 10).to_be_bytes().to_vec();
        encode_name(host, &mut rdata);
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    Some(out)
}
