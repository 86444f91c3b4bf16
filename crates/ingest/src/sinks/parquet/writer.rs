//! The Parquet sink's blocking core: sessions, part files, the footers, the catalogue.
//!
//! Exactly once rests on one property: **a session's durable rows are always a prefix of the
//! session** (seq 0 up to some n, nothing missing before n). It holds because a session writes
//! into one part file at a time and a part file is finished (footer, fsync, rename, fsync of the
//! folder) before the session's next one is started or, at a flush, before the flush returns.
//! So at open the highest seq in a session's files (from the catalogue, or the footer of a file
//! the catalogue does not list yet) says exactly which frames are in, and frames re-delivered
//! from the WAL below it are skipped; the others are written. The catalogue's committed
//! position, stored in the same transaction as the files of each flush, is where the pipeline
//! may safely resume.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use parquet::file::reader::{FileReader as _, SerializedFileReader};
use proto::telemetry::v1::TelemetryFrame;
use table::{FrameFileWriter, KV_SESSION, KV_SESSION_ID, Variant, WriteOptions};

use super::ParquetConfig;
use super::catalogue::{Catalogue, FileEntry, SessionEntry, catalogue_path};
use crate::error::ErrorChain;
use crate::session::SessionId;
use crate::sinks::{SinkError, WalFrame, WalPosition};
use crate::wal;

/// Key-value metadata key of a part file: its [`FileEntry`] as JSON (rows, seq and time range,
/// laps, missed steps, the WAL end of its last row), so a file can be catalogued from its footer.
pub const KV_FILE: &str = "pitwall.file";

const IN_PROGRESS_SUFFIX: &str = ".inprogress";
const BROKEN_SUFFIX: &str = ".broken";

/// What opening the sink found and repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenReport {
    /// Part files found on disk and listed in the catalogue.
    pub files: usize,
    /// Finished part files the catalogue did not list yet (a crash between a flush's files and
    /// its catalogue transaction), read from their footers and added.
    pub adopted: Vec<PathBuf>,
    /// Half-written part files (a crash while they were open) removed; their rows are still in
    /// the WAL and are written again.
    pub removed_in_progress: Vec<PathBuf>,
    /// Files named like part files without a readable footer, renamed to `*.broken`.
    pub broken: Vec<PathBuf>,
    /// Catalogue entries whose file is gone (deleted by hand): their rows are no longer in the
    /// dataset.
    pub missing: Vec<String>,
}

/// Session data needed for paths and the catalogue.
#[derive(Debug, Clone, Default)]
struct Meta {
    json: Option<String>,
    entry: SessionEntry,
    car_dir: String,
}

impl Meta {
    fn unknown(id_text: &str) -> Meta {
        Meta {
            json: None,
            entry: SessionEntry { session_id: id_text.to_owned(), ..Default::default() },
            car_dir: car_dir(""),
        }
    }

    fn from_json(id_text: &str, json: String) -> Meta {
        let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_default();
        let s = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
        let driver = format!("{} {}", s("player_name"), s("player_surname")).trim().to_owned();
        let car = s("car_model");
        Meta {
            car_dir: car_dir(&car),
            entry: SessionEntry {
                session_id: id_text.to_owned(),
                track: s("track"),
                layout: s("track_configuration"),
                car,
                driver,
                session_type: s("session_type"),
                metadata_json: Some(json.clone()),
            },
            json: Some(json),
        }
    }
}

/// The `car=` folder value: the car model with anything but letters, digits, `-`, `_` and `.`
/// replaced by `_` (a hive partition value and a safe file name); `unknown` when empty.
pub fn car_dir(car_model: &str) -> String {
    let s: String = car_model
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
        .collect();
    if s.is_empty() || s.chars().all(|c| c == '.') { "unknown".to_owned() } else { s }
}

/// A part file being written.
struct Part {
    rel: String,
    dir: PathBuf,
    tmp: PathBuf,
    path: PathBuf,
    writer: FrameFileWriter<File>,
    entry: FileEntry,
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Part").field("rel", &self.rel).field("rows", &self.entry.rows).finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct Session {
    id_text: String,
    meta: Meta,
    /// Frames with a lower seq are in a finished file (or in the open part).
    next_seq: u64,
    next_part: u32,
    part: Option<Part>,
    pending: Vec<TelemetryFrame>,
    /// The catalogue's session row is behind `meta`.
    meta_dirty: bool,
}

/// The blocking core of [`super::ParquetSink`].
#[derive(Debug)]
pub(crate) struct Core {
    root: PathBuf,
    config: ParquetConfig,
    options: WriteOptions,
    catalogue: Catalogue,
    sessions: HashMap<SessionId, Session>,
    /// End of the last frame handed to `write` (written, or skipped as already stored).
    written_end: Option<WalPosition>,
    committed: Option<WalPosition>,
    /// Opened with a [`Scope`]: other writers share the catalogue, so the dataset-wide
    /// committed position is not this sink's to store.
    scoped: bool,
    /// Files finished (durable) and not yet in the catalogue.
    finished: Vec<FileEntry>,
    /// Set after an I/O failure inside a part file: its rows are lost from memory, and only
    /// reopening the dataset (a restart, or the sink's recovery) and re-reading them from the
    /// WAL brings them back.
    poisoned: Option<String>,
    report: OpenReport,
    /// Frames skipped because the dataset already had them.
    pub(crate) skipped: u64,
    /// Frames whose rows were appended, decoded into again ([`WalFrame::decode_into`]): a
    /// reused `TelemetryFrame` keeps its vectors' and strings' capacity, a fresh one costs
    /// allocations that were a quarter of its decoding.
    spare: Vec<TelemetryFrame>,
}

/// Most frames [`Core`] keeps to decode into (a few batches' worth).
const SPARE_FRAMES: usize = 4096;

fn io<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> SinkError + 'a {
    move |e| SinkError::io(op, path, e)
}

fn part_number(name: &str) -> Option<u32> {
    name.strip_prefix("part-")?.strip_suffix(".parquet")?.parse().ok()
}

fn parse_session_dir(name: &str) -> Option<SessionId> {
    let hex: String = name.strip_prefix("session=")?.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(SessionId(id))
}

/// Reads a part file's footer: its catalogue entry and session metadata JSON.
fn read_footer(path: &Path, rel: &str) -> Result<(FileEntry, Option<String>), String> {
    let file = File::open(path).map_err(|e| format!("open: {e}"))?;
    let bytes = file.metadata().map_err(|e| format!("stat: {e}"))?.len();
    let reader = SerializedFileReader::new(file).map_err(|e| format!("footer: {e}"))?;
    let meta = reader.metadata().file_metadata();
    let kv = meta.key_value_metadata().ok_or("no key-value metadata")?;
    let get = |k: &str| kv.iter().find(|e| e.key == k).and_then(|e| e.value.clone());
    let text = get(KV_FILE).ok_or_else(|| format!("no {KV_FILE} entry"))?;
    let mut entry: FileEntry = serde_json::from_str(&text).map_err(|e| format!("{KV_FILE}: {e}"))?;
    if entry.rows != meta.num_rows() as u64 {
        return Err(format!("{KV_FILE} says {} rows, the footer {}", entry.rows, meta.num_rows()));
    }
    entry.path = rel.to_owned();
    entry.bytes = bytes;
    Ok((entry, get(KV_SESSION)))
}

/// The sessions a sink writes, when it shares its dataset with other writers (sink workers,
/// each with its share of the sessions): it then reads, repairs and writes only those, and
/// leaves the rest of the dataset (other writers' files in progress above all) alone.
pub type Scope = std::sync::Arc<dyn Fn(&SessionId) -> bool + Send + Sync>;

impl Core {
    /// Opens the dataset in `root`: reconciles the catalogue with the files on disk (see
    /// [`OpenReport`]) and learns each session's next seq; with a `scope`, of its sessions only.
    pub(crate) fn open(
        root: PathBuf,
        config: ParquetConfig,
        scope: Option<Scope>,
    ) -> Result<Core, SinkError> {
        fs::create_dir_all(&root).map_err(io("create", &root))?;
        let mut catalogue = Catalogue::open(&catalogue_path(&root))?;
        let in_scope = |text: &str| match &scope {
            None => true,
            Some(f) => parse_session_dir(&format!("session={text}")).is_some_and(|id| f(&id)),
        };
        let mut listed: BTreeMap<String, FileEntry> = catalogue
            .files()?
            .into_iter()
            .filter(|f| in_scope(&f.session_id))
            .map(|f| (f.path.clone(), f))
            .collect();
        let mut metas: HashMap<String, Option<String>> =
            catalogue.sessions()?.into_iter().map(|s| (s.session_id, s.metadata_json)).collect();
        let mut report = OpenReport::default();
        let mut adopted = Vec::new();
        let mut new_sessions = Vec::new();
        let mut on_disk: BTreeMap<String, FileEntry> = BTreeMap::new();
        let mut next_part: HashMap<SessionId, u32> = HashMap::new();

        for s_entry in fs::read_dir(&root).map_err(io("list", &root))? {
            let s_entry = s_entry.map_err(io("list", &root))?;
            let s_name = s_entry.file_name().to_string_lossy().into_owned();
            let Some(session) = parse_session_dir(&s_name) else { continue };
            if scope.as_ref().is_some_and(|f| !f(&session)) {
                continue;
            }
            if !s_entry.file_type().map_err(io("stat", &s_entry.path()))?.is_dir() {
                continue;
            }
            for c_entry in fs::read_dir(s_entry.path()).map_err(io("list", &s_entry.path()))? {
                let c_entry = c_entry.map_err(io("list", &s_entry.path()))?;
                let c_name = c_entry.file_name().to_string_lossy().into_owned();
                if !c_name.starts_with("car=") || !c_entry.path().is_dir() {
                    continue;
                }
                let dir = c_entry.path();
                let mut changed = false;
                for f_entry in fs::read_dir(&dir).map_err(io("list", &dir))? {
                    let f_entry = f_entry.map_err(io("list", &dir))?;
                    let name = f_entry.file_name().to_string_lossy().into_owned();
                    let path = f_entry.path();
                    let number = name
                        .strip_prefix('.')
                        .and_then(|n| n.strip_suffix(IN_PROGRESS_SUFFIX))
                        .or_else(|| name.strip_suffix(BROKEN_SUFFIX))
                        .unwrap_or(&name);
                    if let Some(n) = part_number(number) {
                        let e = next_part.entry(session).or_insert(0);
                        *e = (*e).max(n + 1);
                    }
                    if name.starts_with(".part-") && name.ends_with(IN_PROGRESS_SUFFIX) {
                        tracing::warn!(file = %path.display(), "half-written Parquet part file removed (its rows are re-read from the WAL)");
                        fs::remove_file(&path).map_err(io("remove", &path))?;
                        report.removed_in_progress.push(path);
                        changed = true;
                        continue;
                    }
                    if part_number(&name).is_none() {
                        continue;
                    }
                    let rel = format!("{s_name}/{c_name}/{name}");
                    let len = f_entry.metadata().map_err(io("stat", &path))?.len();
                    if let Some(e) = listed.get(&rel).filter(|e| e.bytes == len) {
                        on_disk.insert(rel, e.clone());
                        report.files += 1;
                        continue;
                    }
                    match read_footer(&path, &rel) {
                        Ok((entry, meta)) => {
                            tracing::info!(file = %path.display(), rows = entry.rows, "finished part file not in the catalogue yet: added");
                            if !metas.contains_key(&entry.session_id) {
                                let m = match meta {
                                    Some(json) => Meta::from_json(&entry.session_id, json),
                                    None => Meta::unknown(&entry.session_id),
                                };
                                metas.insert(entry.session_id.clone(), m.json.clone());
                                new_sessions.push(m.entry);
                            }
                            report.adopted.push(path);
                            adopted.push(entry.clone());
                            on_disk.insert(rel, entry);
                        }
                        Err(reason) => {
                            let to = PathBuf::from(format!("{}{BROKEN_SUFFIX}", path.display()));
                            tracing::error!(file = %path.display(), reason, renamed_to = %to.display(), "Parquet part file without a readable footer");
                            fs::rename(&path, &to).map_err(io("rename", &path))?;
                            report.broken.push(path);
                            changed = true;
                        }
                    }
                }
                if changed {
                    wal::sync_dir(&dir).map_err(SinkError::other)?;
                }
            }
        }
        let missing: Vec<String> = listed.keys().filter(|p| !on_disk.contains_key(*p)).cloned().collect();
        for p in &missing {
            tracing::error!(file = %p, "a catalogued Parquet part file is gone; its rows are no longer in the dataset");
        }
        report.missing = missing.clone();
        if !adopted.is_empty() || !missing.is_empty() || !new_sessions.is_empty() {
            catalogue.commit(&adopted, &new_sessions, &missing, None)?;
        }
        listed.clear();

        // Sessions: next seq from the files, metadata from the catalogue.
        let mut sessions: HashMap<SessionId, Session> = HashMap::new();
        for f in on_disk.values() {
            let Some(id) = parse_session_dir(&format!("session={}", f.session_id)) else { continue };
            let s = sessions.entry(id).or_insert_with(|| {
                let meta = match metas.get(&f.session_id).cloned().flatten() {
                    Some(json) => Meta::from_json(&f.session_id, json),
                    None => Meta::unknown(&f.session_id),
                };
                Session {
                    id_text: f.session_id.clone(),
                    meta,
                    next_seq: 0,
                    next_part: 0,
                    part: None,
                    pending: Vec::new(),
                    meta_dirty: false,
                }
            });
            s.next_seq = s.next_seq.max(f.last_seq + 1);
        }
        for (id, n) in next_part {
            if let Some(s) = sessions.get_mut(&id) {
                s.next_part = n;
            } else {
                // Only broken or half-written files: keep their numbers taken.
                let text = id.to_string();
                let meta = match metas.get(&text).cloned().flatten() {
                    Some(json) => Meta::from_json(&text, json),
                    None => Meta::unknown(&text),
                };
                sessions.insert(
                    id,
                    Session {
                        id_text: text,
                        meta,
                        next_seq: 0,
                        next_part: n,
                        part: None,
                        pending: Vec::new(),
                        meta_dirty: false,
                    },
                );
            }
        }
        let committed = catalogue.committed()?;
        let options = WriteOptions {
            row_group_rows: config.row_group_rows.max(1),
            zstd_level: config.zstd_level,
            threads: config.encode_threads.max(1),
            codec: match config.compression {
                super::Compression::Lz4Raw => table::Codec::Lz4Raw,
                super::Compression::Zstd => table::Codec::Zstd,
            },
            ..WriteOptions::default()
        };
        Ok(Core {
            scoped: scope.is_some(),
            root,
            config,
            options,
            catalogue,
            sessions,
            written_end: committed,
            committed,
            finished: Vec::new(),
            poisoned: None,
            report,
            skipped: 0,
            spare: Vec::new(),
        })
    }

    pub(crate) fn report(&self) -> &OpenReport {
        &self.report
    }

    pub(crate) fn committed(&self) -> Option<WalPosition> {
        self.committed
    }

    /// The session's next seq: below it, rows are in the dataset or its open part file.
    pub(crate) fn next_seq(&self, session: &SessionId) -> u64 {
        self.sessions.get(session).map_or(0, |s| s.next_seq)
    }

    /// Whether a failed part file stopped the sink (see [`super::ParquetSink`]'s `recover`).
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.is_some()
    }

    fn check(&self) -> Result<(), SinkError> {
        match &self.poisoned {
            Some(reason) => Err(SinkError::other(format!(
                "the Parquet sink stopped after a failed part file ({reason}); it reopens its \
                 dataset and rewrites the rows from the WAL"
            ))),
            None => Ok(()),
        }
    }

    fn poison<T>(&mut self, e: SinkError) -> Result<T, SinkError> {
        tracing::error!(error = %ErrorChain(&e), "Parquet part file failed; the sink reopens its dataset and writes the rows again from the WAL (which keeps them)");
        self.poisoned = Some(ErrorChain(&e).to_string());
        Err(e)
    }

    /// Writes a batch: frames of each session go to its open part file; frames already in the
    /// dataset are skipped. Decoding happens first, so a frame that does not decode fails the
    /// batch before anything changed.
    pub(crate) fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        self.check()?;
        let mut decoded = Vec::with_capacity(batch.len());
        for f in batch {
            let stored = self.sessions.get(&f.session_id).map_or(0, |s| s.next_seq);
            if f.seq < stored {
                continue;
            }
            let mut frame = self.spare.pop().unwrap_or_default();
            f.decode_into(&mut frame)?;
            decoded.push((f.session_id, f.end(), frame));
        }
        self.skipped += (batch.len() - decoded.len()) as u64;
        match self.apply(decoded) {
            Ok(()) => {
                if let Some(last) = batch.last() {
                    self.written_end = Some(last.end());
                }
                Ok(())
            }
            Err(e) => self.poison(e),
        }
    }

    fn apply(&mut self, decoded: Vec<(SessionId, WalPosition, TelemetryFrame)>) -> Result<(), SinkError> {
        let mut touched: Vec<SessionId> = Vec::new();
        for (id, end, mut frame) in decoded {
            let s = self.sessions.entry(id).or_insert_with(|| {
                let text = id.to_string();
                Session {
                    meta: Meta::unknown(&text),
                    id_text: text,
                    next_seq: 0,
                    next_part: 0,
                    part: None,
                    pending: Vec::new(),
                    meta_dirty: true,
                }
            });
            if let Some(m) = frame.session.take() {
                let json = table::session_metadata_json(&m).to_string();
                if s.meta.json.as_deref() != Some(json.as_str()) {
                    let meta = Meta::from_json(&s.id_text, json);
                    if s.part.is_some() && meta.car_dir != s.meta.car_dir {
                        // The car changed: its rows go to another folder, and the old part is
                        // finished first so that the session's durable rows stay a prefix.
                        let entry = finish_part(s)?;
                        self.finished.push(entry);
                    }
                    s.meta = meta;
                    s.meta_dirty = true;
                }
            }
            if s.part.is_none() {
                s.part = Some(open_part(&self.root, s, &self.options)?);
            }
            if let Some(p) = s.part.as_mut() {
                let e = &mut p.entry;
                if e.rows == 0 {
                    e.first_seq = frame.seq;
                    e.first_wall_ns = frame.wall_time_ns;
                }
                e.rows += 1;
                e.last_seq = frame.seq;
                e.last_wall_ns = frame.wall_time_ns;
                e.max_completed_laps = e.max_completed_laps.max(i64::from(frame.completed_laps));
                e.missed_steps += u64::from(frame.missed_steps);
                e.wal_end = end;
            }
            s.next_seq = frame.seq + 1;
            if s.pending.is_empty() {
                touched.push(id);
            }
            s.pending.push(frame);
        }
        for id in touched {
            let Some(s) = self.sessions.get_mut(&id) else { continue };
            let Some(p) = s.part.as_mut() else { continue };
            p.writer.append(&s.pending).map_err(|e| SinkError::other(format!("{}: {e}", p.tmp.display())))?;
            let room = SPARE_FRAMES.saturating_sub(self.spare.len());
            // Draining empties `pending`: the frames beyond `room` are dropped with the drain.
            self.spare.extend(s.pending.drain(..).take(room));
            let full = p.entry.rows >= self.config.max_file_rows
                || p.writer.size_estimate() as u64 >= self.config.max_file_bytes;
            if full {
                let entry = finish_part(s)?;
                self.finished.push(entry);
            }
        }
        Ok(())
    }

    /// Finishes every open part file and records them, the sessions and the committed position
    /// in the catalogue.
    pub(crate) fn flush(&mut self) -> Result<(), SinkError> {
        self.check()?;
        let mut ids: Vec<SessionId> =
            self.sessions.iter().filter(|(_, s)| s.part.is_some()).map(|(id, _)| *id).collect();
        ids.sort_unstable();
        for id in ids {
            let Some(s) = self.sessions.get_mut(&id) else { continue };
            match finish_part(s) {
                Ok(entry) => self.finished.push(entry),
                Err(e) => return self.poison(e),
            }
        }
        // Every session that got frames since the last flush now has a file; its row in the
        // catalogue follows its latest metadata.
        let sessions: Vec<SessionEntry> =
            self.sessions.values().filter(|s| s.meta_dirty).map(|s| s.meta.entry.clone()).collect();
        let committed = if self.scoped { None } else { self.written_end };
        self.catalogue.commit(&self.finished, &sessions, &[], committed)?;
        self.finished.clear();
        for s in self.sessions.values_mut() {
            s.meta_dirty = false;
        }
        self.committed = self.written_end;
        Ok(())
    }
}

fn open_part(root: &Path, s: &mut Session, options: &WriteOptions) -> Result<Part, SinkError> {
    let rel_dir = format!("session={}/car={}", s.id_text, s.meta.car_dir);
    let dir = root.join(&rel_dir);
    fs::create_dir_all(&dir).map_err(io("create", &dir))?;
    let number = s.next_part;
    s.next_part += 1;
    let name = format!("part-{number:06}.parquet");
    let tmp = dir.join(format!(".{name}{IN_PROGRESS_SUFFIX}"));
    let file = File::create(&tmp).map_err(io("create", &tmp))?;
    let writer = FrameFileWriter::new(file, Variant::Frames, options)
        .map_err(|e| SinkError::other(format!("{}: {e}", tmp.display())))?;
    Ok(Part {
        rel: format!("{rel_dir}/{name}"),
        path: dir.join(&name),
        dir,
        tmp,
        writer,
        entry: FileEntry {
            path: String::new(),
            session_id: s.id_text.clone(),
            car: s.meta.car_dir.clone(),
            rows: 0,
            bytes: 0,
            first_seq: 0,
            last_seq: 0,
            first_wall_ns: 0,
            last_wall_ns: 0,
            max_completed_laps: 0,
            missed_steps: 0,
            wal_end: WalPosition::default(),
        },
    })
}

/// Writes the session's open part file's footer (with its [`KV_FILE`] entry and the session
/// metadata), fsyncs it, renames it to its final name and fsyncs the folder.
fn finish_part(s: &mut Session) -> Result<FileEntry, SinkError> {
    let Some(mut p) = s.part.take() else {
        return Err(SinkError::other("no open part file to finish"));
    };
    let tmp = p.tmp.clone();
    let fail = |e: table::TableError| SinkError::other(format!("{}: {e}", tmp.display()));
    if !s.pending.is_empty() {
        p.writer.append(&s.pending).map_err(fail)?;
        s.pending.clear();
    }
    p.entry.path = p.rel.clone();
    let text = serde_json::to_string(&p.entry).map_err(SinkError::other)?;
    p.writer.add_metadata(KV_FILE, text);
    p.writer.add_metadata(KV_SESSION_ID, s.id_text.clone());
    if let Some(json) = &s.meta.json {
        p.writer.add_metadata(KV_SESSION, json.clone());
    }
    p.writer.finish().map_err(fail)?;
    p.writer.inner().sync_all().map_err(io("fsync", &p.tmp))?;
    fs::rename(&p.tmp, &p.path).map_err(io("rename", &p.tmp))?;
    wal::sync_dir(&p.dir).map_err(SinkError::other)?;
    p.entry.bytes = fs::metadata(&p.path).map_err(io("stat", &p.path))?.len();
    tracing::debug!(file = %p.path.display(), rows = p.entry.rows, "Parquet part file finished");
    Ok(p.entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use table::session_id_text;

    #[test]
    fn car_folders_are_safe_names() {
        assert_eq!(car_dir("ks_mazda_mx5_cup"), "ks_mazda_mx5_cup");
        assert_eq!(car_dir("a/b c"), "a_b_c");
        assert_eq!(car_dir(""), "unknown");
        assert_eq!(car_dir(".."), "unknown");
        assert_eq!(part_number("part-000012.parquet"), Some(12));
        assert_eq!(part_number("part-x.parquet"), None);
        let id = SessionId([0xab; 16]);
        assert_eq!(parse_session_dir(&format!("session={id}")), Some(id));
        assert_eq!(parse_session_dir("session=abc"), None);
        assert_eq!(session_id_text(&id.0), id.to_string());
    }
}
