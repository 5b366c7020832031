//! Log line templates in the shapes of real system and application logs, 16 kinds (the
//! kinds of the LogPAI loghub collection: HDFS, Hadoop, Spark, ZooKeeper, BGL, HPC,
//! Thunderbird, Windows, Linux, Android, HealthApp, Apache, Proxifier, OpenSSH, OpenStack,
//! Mac), written from their public line formats. Placeholders in braces are filled with
//! values of real shapes by [`fill`]: a search benchmark over a few repeated words measures
//! nothing, since real logs have many templates and variables of every shape.

use rand::Rng;
use rand::rngs::StdRng;

/// A log template: its kind (the service that logs it), severity number, weight within
/// its kind, and text.
pub(crate) struct Template {
    pub kind: usize,
    pub severity: i32,
    pub weight: u32,
    pub text: &'static str,
}

/// The kinds, as service names.
pub(crate) const KINDS: [&str; 16] = [
    "hdfs-datanode",
    "hadoop-mapreduce",
    "spark-executor",
    "zookeeper",
    "bgl-kernel",
    "hpc-node",
    "thunderbird-syslog",
    "windows-cbs",
    "linux-sshd-cron",
    "android-system",
    "healthapp",
    "apache-httpd",
    "proxifier",
    "openssh",
    "openstack-nova",
    "mac-kernel",
];

const fn t(kind: usize, severity: i32, weight: u32, text: &'static str) -> Template {
    Template { kind, severity, weight, text }
}

/// In about 0.05 % of logs (one template of weight 10 of ~1,250 in one kind of 16).
pub(crate) const RARE_TERM: &str = "JSchException";
/// In about 1.4 % of logs (several templates).
pub(crate) const COMMON_TERM: &str = "timed out";

pub(crate) const TEMPLATES: &[Template] = &[
    // HDFS
    t(0, 9, 300, "Receiving block {blk} src: /{ip}:{port} dest: /{ip}:{port}"),
    t(0, 9, 300, "PacketResponder {small} for block {blk} terminating"),
    t(0, 9, 250, "Received block {blk} of size {big} from /{ip}"),
    t(
        0,
        9,
        200,
        "BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip}:{port} is added to {blk} size {big}",
    ),
    t(0, 9, 150, "Deleting block {blk} file /mnt/hadoop/dfs/data/current/subdir{small}/{blk}"),
    t(0, 13, 60, "{ip}:{port}:Got exception while serving {blk} to /{ip}:"),
    t(
        0,
        13,
        30,
        "writeBlock {blk} received exception java.net.SocketTimeoutException: 60000 millis timeout while waiting for channel to be ready for read; connection timed out",
    ),
    // Hadoop
    t(1, 9, 300, "Task attempt_{appid}_m_{int6}_0 is done. And is in the process of committing"),
    t(1, 9, 300, "Progress of TaskAttempt attempt_{appid}_m_{int6}_0 is : {frac}"),
    t(1, 9, 200, "Assigned container container_{appid}_01_{int6} to attempt_{appid}_m_{int6}_0"),
    t(1, 9, 200, "Num completed Tasks: {int}"),
    t(1, 13, 80, "Address change detected. Old: {host}/{ip}:{port} New: {host}:{port}"),
    t(
        1,
        17,
        60,
        "Retrying connect to server: {host}:{port}. Already tried {small} time(s); retry policy is RetryUpToMaximumCountWithFixedSleep(maxRetries=10, sleepTime=1000 MILLISECONDS)",
    ),
    t(
        1,
        17,
        30,
        "ERROR IN CONTACTING RM. java.net.ConnectException: Call From {host}/{ip} to {host}:{port} failed on connection exception: connection timed out",
    ),
    // Spark
    t(2, 9, 300, "Finished task {small}.0 in stage {int}.0 (TID {big}). {big} bytes result sent to driver"),
    t(2, 9, 300, "Running task {small}.0 in stage {int}.0 (TID {big})"),
    t(2, 9, 250, "Found block rdd_{int}_{small} locally"),
    t(2, 9, 200, "Started reading broadcast variable {int}"),
    t(
        2,
        9,
        150,
        "Block broadcast_{int}_piece0 stored as bytes in memory (estimated size {frac} KB, free {frac} GB)",
    ),
    t(
        2,
        13,
        24,
        "Issue communicating with driver in heartbeater org.apache.spark.rpc.RpcTimeoutException: Futures timed out after [10 seconds]",
    ),
    t(
        2,
        17,
        30,
        "Exception in task {small}.0 in stage {int}.0 (TID {big}) java.lang.OutOfMemoryError: GC overhead limit exceeded",
    ),
    // ZooKeeper
    t(3, 9, 300, "Accepted socket connection from /{ip}:{port}"),
    t(3, 9, 300, "Client attempting to establish new session at /{ip}:{port}"),
    t(3, 9, 250, "Established session 0x{hex16} with negotiated timeout {timeout} for client /{ip}:{port}"),
    t(3, 9, 200, "Closed socket connection for client /{ip}:{port} which had sessionid 0x{hex16}"),
    t(
        3,
        13,
        100,
        "caught end of stream exception EndOfStreamException: Unable to read additional data from client sessionid 0x{hex16}, likely client has closed socket",
    ),
    t(
        3,
        13,
        60,
        "Cannot open channel to {small} at election address /{ip}:3888 java.net.ConnectException: Connection refused",
    ),
    t(3, 13, 40, "Expiring session 0x{hex16}, timeout of {timeout}ms exceeded"),
    // BGL
    t(4, 9, 300, "RAS KERNEL INFO instruction cache parity error corrected"),
    t(4, 9, 250, "RAS KERNEL INFO {int} double-hummer alignment exceptions"),
    t(4, 9, 200, "RAS KERNEL INFO CE sym {small}, at 0x{hex8}, mask 0x{hex2}"),
    t(4, 17, 100, "RAS KERNEL FATAL data TLB error interrupt"),
    t(
        4,
        17,
        80,
        "RAS APP FATAL ciod: failed to read message prefix on control stream (CioStream socket to {ip}:{port}",
    ),
    t(4, 21, 30, "RAS KERNEL FATAL machine check interrupt (bit=0x{hex2}): L2 dcache unit data parity error"),
    // HPC
    t(5, 9, 300, "node-{int} node status changed to up"),
    t(5, 9, 250, "unix.hw state_change.unavailable HWID={big} ServerFileSystemDomainStoreTable sync"),
    t(5, 9, 200, "Command has completed successfully: boot (command {big}) {big}"),
    t(5, 13, 120, "PSU status ( on off )  node-{int}"),
    t(5, 17, 80, "Link error on broadcast tree Interconnect-{small}T{small}:{small}:{small}"),
    t(5, 13, 24, "node-{int} ClusterFileSystem: ServerFileSystem domain storage{small} request timed out"),
    // Thunderbird
    t(
        6,
        9,
        300,
        "{host} kernel: [KERNEL_IB][ib_mad_recv_done_handler][{path}:{int}]ib_mad_recv_done_handler: mad receive error",
    ),
    t(6, 9, 250, "{host} ntpd[{pid}]: synchronized to {ip}, stratum {small}"),
    t(6, 9, 250, "{host} crond(pam_unix)[{pid}]: session opened for user root by (uid=0)"),
    t(6, 9, 200, "{host} dhcpd: DHCPREQUEST for {ip} from {mac} via eth{small}"),
    t(
        6,
        13,
        80,
        "{host} kernel: EXT3-fs warning (device sd{small}): ext3_dx_add_entry: Directory index full!",
    ),
    t(6, 17, 40, "{host} pbs_mom: Bad file descriptor (9) in tm_request, job {big}.{host} not running"),
    // Windows CBS
    t(
        7,
        9,
        300,
        "CBS    Loaded Servicing Stack v6.1.7601.{int5} with Core: C:\\Windows\\winsxs\\amd64_microsoft-windows-servicingstack_31bf3856ad364e35_6.1.7601.{int5}_none_{hex16}\\cbscore.dll",
    ),
    t(
        7,
        9,
        300,
        "CSI    {hex8}@{date}:{time} WcpInitialize (wcp.dll version 0.0.0.6) called (stack @0x7fef{hex8} @0x7fef{hex8} @0xff{hex8})",
    ),
    t(7, 9, 250, "CBS    SQM: Initializing online with Windows opt-in: False"),
    t(7, 9, 200, "CBS    Session: 30{big}_{big} initialized by client WindowsUpdateAgent."),
    t(7, 13, 80, "CBS    Failed to internally open package. [HRESULT = 0x800f0805 - CBS_E_INVALID_PACKAGE]"),
    t(7, 17, 40, "CBS    Failed to get next element [HRESULT = 0x800f080d - CBS_E_MANIFEST_INVALID_ITEM]"),
    // Linux
    t(8, 9, 300, "combo sshd(pam_unix)[{pid}]: session closed for user {user}"),
    t(8, 9, 250, "combo su(pam_unix)[{pid}]: session opened for user cyrus by (uid=0)"),
    t(8, 9, 200, "combo logrotate: ALERT exited abnormally with [1]"),
    t(
        8,
        13,
        150,
        "combo sshd(pam_unix)[{pid}]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost={ip}  user={user}",
    ),
    t(8, 13, 100, "combo ftpd[{pid}]: connection from {ip} ({host}) at {date} {time}"),
    t(8, 17, 30, "combo kernel: Out of Memory: Killed process {pid} (httpd)."),
    // Android
    t(
        9,
        5,
        300,
        "PowerManagerService: acquire lock={big}, flags=0x1, tag=\"RILJ_ACK_WL\", name=com.android.phone, ws=null, uid={uid}, pid={pid}",
    ),
    t(
        9,
        5,
        300,
        "PowerManagerService: release:lock={big}, flg=0x0, tag=\"*launch*\", name=android\", ws=WorkSource{{{uid}}}, uid=1000, pid={pid}",
    ),
    t(
        9,
        9,
        200,
        "ActivityManager: Start proc {pid}:com.tencent.mm/u0a{int} for service com.tencent.mm/.plugin.backup.BackupService",
    ),
    t(9, 9, 200, "WindowManager: Changing focus from Window{{{hex8} u0 StatusBar}} to null"),
    t(9, 13, 100, "ActivityManager: Process com.android.settings (pid {pid}) has died"),
    t(
        9,
        17,
        40,
        "AndroidRuntime: FATAL EXCEPTION: main Process: com.example.shop, PID: {pid} java.lang.NullPointerException: Attempt to invoke virtual method on a null object reference",
    ),
    // HealthApp
    t(10, 9, 300, "Step_LSC|onStandStepChanged {big}"),
    t(10, 9, 300, "Step_SPUtils|setTodayTotalDetailSteps={big}##{int}##{big}##{int}##{big}##{big}"),
    t(10, 9, 200, "Step_StandReportReceiver|onReceive action: android.intent.action.SCREEN_ON"),
    t(10, 9, 200, "HiH_HiHealthDataInsertStore|saveHealthDetailData() size = {small}"),
    t(
        10,
        13,
        30,
        "HiH_HiSyncControl|syncData() failed: errorCode={int}, sync request timed out after {int}s",
    ),
    t(10, 17, 30, "Step_ExtSDM|totalAltitude={big}totalSteps={big}totalCalories={big} reset failed"),
    // Apache
    t(11, 9, 300, "workerEnv.init() ok /etc/httpd/conf/workers2.properties"),
    t(11, 9, 300, "jk2_init() Found child {pid} in scoreboard slot {small}"),
    t(11, 9, 200, "{ip} - - \"GET {url} HTTP/1.1\" {status} {big} \"-\" \"Mozilla/5.0 (X11; Linux x86_64)\""),
    t(11, 17, 100, "mod_jk child workerEnv in error state {small}"),
    t(11, 17, 60, "[client {ip}] Directory index forbidden by rule: /var/www/html/{word}/"),
    t(11, 17, 40, "[client {ip}] File does not exist: /var/www/html/{word}/{word}.php"),
    // Proxifier
    t(12, 9, 300, "chrome.exe - {host}:443 open through proxy proxy.cse.cuhk.edu.hk:5070 HTTPS"),
    t(
        12,
        9,
        300,
        "chrome.exe - {host}:443 close, {big} bytes ({frac} KB) sent, {big} bytes ({frac} KB) received, lifetime {mmss}",
    ),
    t(
        12,
        9,
        200,
        "Dropbox.exe - block.dropbox.com:443 close, {big} bytes sent, {big} bytes received, lifetime <1 sec",
    ),
    t(
        12,
        13,
        100,
        "SogouCloud.exe - {ip}:{port} error : Could not connect through proxy proxy.cse.cuhk.edu.hk:5070 - Proxy server cannot establish a connection with the target, status code {status}",
    ),
    t(12, 13, 60, "svchost.exe - {host}:80 error : A connection request was canceled before the completion."),
    t(12, 13, 24, "chrome.exe - {host}:443 error : Connection timed out waiting for the proxy to respond"),
    // OpenSSH
    t(13, 9, 300, "sshd[{pid}]: Received disconnect from {ip}: 11: Bye Bye [preauth]"),
    t(13, 13, 300, "sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2"),
    t(13, 13, 250, "sshd[{pid}]: Invalid user {user} from {ip}"),
    t(13, 9, 200, "sshd[{pid}]: pam_unix(sshd:auth): check pass; user unknown"),
    t(
        13,
        13,
        150,
        "sshd[{pid}]: reverse mapping checking getaddrinfo for {host} [{ip}] failed - POSSIBLE BREAK-IN ATTEMPT!",
    ),
    t(
        13,
        17,
        10,
        "sshd[{pid}]: error: Received disconnect from {ip}: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
    ),
    t(13, 13, 24, "sshd[{pid}]: Timeout, client not responding from {ip} port {port}: connection timed out"),
    // OpenStack
    t(
        14,
        9,
        300,
        "nova.osapi_compute.wsgi.server [req-{uuid} {hex32} {hex32} - - -] {ip} \"GET /v2/{hex32}/servers/detail HTTP/1.1\" status: {status} len: {big} time: {secs}",
    ),
    t(
        14,
        9,
        250,
        "nova.compute.manager [req-{uuid} - - - - -] [instance: {uuid}] VM Started (Lifecycle Event)",
    ),
    t(
        14,
        9,
        200,
        "nova.compute.claims [req-{uuid} {hex32} {hex32} - - -] [instance: {uuid}] Total memory: {big} MB, used: {frac} MB",
    ),
    t(
        14,
        9,
        150,
        "nova.virt.libvirt.imagecache [req-{uuid} - - - - -] image {uuid} at (/var/lib/nova/instances/_base/{hex40}): checking",
    ),
    t(
        14,
        13,
        80,
        "nova.compute.manager [req-{uuid} - - - - -] [instance: {uuid}] During sync_power_state the instance has a pending task (spawning). Skip.",
    ),
    t(
        14,
        17,
        20,
        "nova.compute.manager [req-{uuid} - - - - -] [instance: {uuid}] Instance failed to spawn: libvirtError: Timed out during operation: cannot acquire state change lock",
    ),
    // Mac
    t(15, 9, 300, "kernel[0]: ARPT: {frac}: wl0: setup_keepalive: Seq: {big}, Ack: {big}, Win size: {int}"),
    t(15, 9, 250, "kernel[0]: AppleThunderboltNHIType2::prePCIWake - power up complete - took {int} us"),
    t(15, 9, 200, "com.apple.CDScheduler[{pid}]: Thermal pressure state: 1 Memory pressure state: 0"),
    t(15, 9, 200, "QQ[{pid}]: FA||Url||taskID[{big}] dealloc"),
    t(15, 13, 80, "WindowServer[{pid}]: CGXDisplayDidWakeNotification [{big}]: posting kCGSDisplayDidWake"),
    t(
        15,
        17,
        24,
        "sharingd[{pid}]: {time} : SDStatusMonitor::kStatusWirelessPowerChanged, AirDrop request timed out",
    ),
];

const USERS: [&str; 12] = [
    "admin", "test", "oracle", "guest", "root", "ubuntu", "postgres", "git", "ftpuser", "nagios", "pi",
    "support",
];
const WORDS: [&str; 10] =
    ["admin", "phpmyadmin", "wp-login", "cgi-bin", "images", "static", "api", "backup", "old", "shop"];
const URLS: [&str; 8] = [
    "/index.html",
    "/api/v1/orders",
    "/static/app.js",
    "/login",
    "/cart/checkout",
    "/images/logo.png",
    "/search?q=shoes",
    "/favicon.ico",
];
const STATUSES: [&str; 6] = ["200", "200", "304", "404", "500", "503"];

/// The template's text with every placeholder filled; `{{`/`}}` are braces.
pub(crate) fn fill(text: &str, rng: &mut StdRng) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        out.push_str(&rest[..open]);
        let brace = rest.as_bytes()[open];
        if rest.as_bytes().get(open + 1) == Some(&brace) {
            out.push(char::from(brace));
            rest = &rest[open + 2..];
            continue;
        }
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        let name = &rest[open + 1..close];
        // An unknown name is a mistake in a template: marked, for the test to find.
        out.push_str(&value(name, rng).unwrap_or_else(|| format!("{{?{name}}}")));
        rest = &rest[(close + 1).min(rest.len())..];
    }
    out.push_str(rest);
    out
}

fn hex(rng: &mut StdRng, digits: usize) -> String {
    (0..digits).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect()
}

fn value(name: &str, rng: &mut StdRng) -> Option<String> {
    Some(match name {
        "ip" => format!(
            "10.{}.{}.{}",
            rng.random_range(0..256),
            rng.random_range(0..256),
            rng.random_range(1..255)
        ),
        "port" => rng.random_range(1024..65536).to_string(),
        "blk" => format!(
            "blk_{}{}",
            if rng.random_bool(0.5) { "-" } else { "" },
            rng.random_range(10u64.pow(17)..10u64.pow(19))
        ),
        "small" => rng.random_range(0..10).to_string(),
        "int" => rng.random_range(0..1000).to_string(),
        "int5" => rng.random_range(10_000..100_000).to_string(),
        "int6" => format!("{:06}", rng.random_range(0..1_000_000)),
        "big" => rng.random_range(0..100_000_000u64).to_string(),
        "frac" => format!("{:.1}", rng.random_range(0.0..1000.0f64)),
        "secs" => format!("{:.7}", rng.random_range(0.0..2.0f64)),
        "timeout" => ["4000", "10000", "30000", "40000"][rng.random_range(0..4)].to_owned(),
        "hex2" => hex(rng, 2),
        "hex8" => hex(rng, 8),
        "hex16" => hex(rng, 16),
        "hex32" => hex(rng, 32),
        "hex40" => hex(rng, 40),
        "uuid" => format!("{}-{}-{}-{}-{}", hex(rng, 8), hex(rng, 4), hex(rng, 4), hex(rng, 4), hex(rng, 12)),
        "appid" => format!("14451{:08}_{:04}", rng.random_range(0..100_000_000), rng.random_range(1..3000)),
        "uid" => rng.random_range(10_000..10_200).to_string(),
        "pid" => rng.random_range(300..65_000).to_string(),
        "host" => format!(
            "{}{}",
            ["tbird-sm", "dn-", "node-", "ln", "compute-"][rng.random_range(0..5)],
            rng.random_range(1..400)
        ),
        "mac" => (0..6).map(|_| hex(rng, 2)).collect::<Vec<_>>().join(":"),
        "path" => format!("/usr/src/ib/mthca/mthca_{}.c", ["cmd", "eq", "mad", "qp"][rng.random_range(0..4)]),
        "user" => USERS[rng.random_range(0..USERS.len())].to_owned(),
        "word" => WORDS[rng.random_range(0..WORDS.len())].to_owned(),
        "url" => URLS[rng.random_range(0..URLS.len())].to_owned(),
        "status" => STATUSES[rng.random_range(0..STATUSES.len())].to_owned(),
        "date" => format!("2016-{:02}-{:02}", rng.random_range(1..13), rng.random_range(1..29)),
        "time" => format!(
            "{:02}:{:02}:{:02}",
            rng.random_range(0..24),
            rng.random_range(0..60),
            rng.random_range(0..60)
        ),
        "mmss" => format!("{:02}:{:02}", rng.random_range(0..60), rng.random_range(0..60)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn every_placeholder_is_filled() {
        let mut rng = StdRng::seed_from_u64(1);
        for template in TEMPLATES {
            let line = fill(template.text, &mut rng);
            assert!(!line.contains("{?"), "{line}");
            assert!(template.kind < KINDS.len());
        }
        assert_eq!(fill("a {{b}} c", &mut rng), "a {b} c");
        assert_eq!(fill("{nope}", &mut rng), "{?nope}");
    }

    /// The pattern miner on these templates, labelled by construction: 2,000 lines of each
    /// kind, templates drawn by weight (a second labelled source besides loghub's, the one
    /// the benchmarks run on).
    #[test]
    fn patterns_group_the_generated_lines_by_their_template() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut total = 0.0;
        for (kind, name) in KINDS.iter().enumerate() {
            let templates: Vec<&Template> = TEMPLATES.iter().filter(|t| t.kind == kind).collect();
            let weights: u32 = templates.iter().map(|t| t.weight).sum();
            let (truth, lines): (Vec<&str>, Vec<String>) = (0..2000)
                .map(|_| {
                    let mut pick = rng.random_range(0..weights);
                    let template = templates.iter().find(|t| {
                        pick < t.weight || {
                            pick -= t.weight;
                            false
                        }
                    });
                    let text = template.map_or("", |t| t.text);
                    (text, fill(text, &mut rng))
                })
                .unzip();
            let ga = tether_patterns::grouping_accuracy(&truth, &tether_patterns::group(&lines));
            println!("{name:20} GA {ga:.3}");
            total += ga;
        }
        let mean = total / KINDS.len() as f64;
        println!("mean GA {mean:.3}");
        assert!(mean >= 0.99, "mean grouping accuracy {mean:.3}");
    }
}
