//! Parquet document shards (`.parquet`, behind the `parquet` feature): the `text` column plus every other
//! column read into a [`Document`], and documents written back as columns, zstd-compressed, in row groups of
//! about [`ROW_GROUP_TARGET_BYTES`] of JSON text.
//!
//! Reading converts each record batch to JSON objects with `arrow-json` (null cells are absent keys, as when a
//! JSONL corpus with varying keys is loaded into a table), so a column of any Arrow type becomes the key of the
//! same name: structs as objects, lists as arrays, timestamps as strings.
//!
//! Writing infers one Arrow type per top-level key from the first row group (integers → `int64`, other numbers
//! → `float64`, strings, booleans, lists, objects → structs), `text` first, then the other keys in the order
//! they first appear. A later row group that brings new keys widens the schema: the row groups already written
//! are re-encoded with the new columns null (rare, and cheap: no JSON is involved). A value that has no exact
//! place in its column (an integer in a `float64` column, a null inside an object, keys of different types
//! across documents, an explicit top-level null, a non-string `text`) is not coerced: the document's
//! non-fitting keys are stored as one JSON object in the string column [`EXTRA_COLUMN`], created only when
//! needed and merged back on reading, so every document reads back equal to what was written.

use crate::{CoreError, Document, Result, TextRef};
use arrow_array::{new_null_array, Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use serde_json::{Map, Value};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The string column holding, as one JSON object per row, the keys whose values have no exact place in the
/// file's schema (absent when every document fits).
pub const EXTRA_COLUMN: &str = "__dclm_extra_json";

/// Target size of one row group, in bytes of the documents' JSON text (uncompressed): large enough for
/// efficient column chunks and scans, small enough to buffer one group per writer thread.
pub const ROW_GROUP_TARGET_BYTES: usize = 64 << 20;

/// Most rows in one row group (short documents).
pub const ROW_GROUP_MAX_ROWS: usize = 65_536;

/// zstd level of written files (the level of `.jsonl.zst` shards too).
pub const ZSTD_LEVEL: i32 = 3;

/// Rows per record batch when reading.
const READ_BATCH_ROWS: usize = 1024;

fn corrupt(path: &Path, row: u64, message: impl std::fmt::Display) -> CoreError {
    CoreError::Corrupt {
        path: path.to_path_buf(),
        format: "parquet",
        line: row,
        message: message.to_string(),
    }
}

/// Streaming reader of a Parquet shard: one record batch in memory at a time.
pub(crate) struct ParquetRows {
    path: PathBuf,
    batches: ParquetRecordBatchReader,
    /// JSON lines of the current batch and the extra-column values, consumed front to back.
    lines: Vec<u8>,
    pos: usize,
    extras: Option<StringArray>,
    batch_row: usize,
    /// 1-based number of the last row handed out.
    row: u64,
    total_rows: u64,
    file_len: u64,
    raw_bytes: Arc<AtomicU64>,
    raw_reported: u64,
    done: bool,
}

impl ParquetRows {
    pub(crate) fn open(path: &Path, raw_bytes: Arc<AtomicU64>) -> Result<Self> {
        let file = File::open(path).map_err(|e| CoreError::io(path, e))?;
        let file_len = file.metadata().map_err(|e| CoreError::io(path, e))?.len();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| corrupt(path, 0, e))?;
        let total_rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
        let batches = builder
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| corrupt(path, 0, e))?;
        Ok(ParquetRows {
            path: path.to_path_buf(),
            batches,
            lines: Vec::new(),
            pos: 0,
            extras: None,
            batch_row: 0,
            row: 0,
            total_rows,
            file_len,
            raw_bytes,
            raw_reported: 0,
            done: false,
        })
    }

    /// Count the file's bytes in proportion to the rows decoded (the whole file once the last row is read).
    fn report_bytes(&mut self, rows_done: u64) {
        let target = if rows_done >= self.total_rows {
            self.file_len
        } else {
            (self.file_len as u128 * rows_done as u128 / self.total_rows.max(1) as u128) as u64
        };
        if target > self.raw_reported {
            self.raw_bytes.fetch_add(target - self.raw_reported, Ordering::Relaxed);
            self.raw_reported = target;
        }
    }

    fn load_batch(&mut self, batch: RecordBatch) -> Result<()> {
        let schema = batch.schema();
        let (batch, extras) = match schema.index_of(EXTRA_COLUMN) {
            Ok(i) => {
                let col = batch.column(i).clone();
                let extras = col.as_any().downcast_ref::<StringArray>().cloned().ok_or_else(|| {
                    corrupt(
                        &self.path,
                        self.row,
                        format!("column {EXTRA_COLUMN} is not a string column"),
                    )
                })?;
                let keep: Vec<usize> = (0..batch.num_columns()).filter(|&c| c != i).collect();
                let projected = batch.project(&keep).map_err(|e| corrupt(&self.path, self.row, e))?;
                (projected, Some(extras))
            }
            Err(_) => (batch, None),
        };
        self.lines.clear();
        let mut w = arrow_json::WriterBuilder::new()
            .with_explicit_nulls(false)
            .build::<_, arrow_json::writer::LineDelimited>(&mut self.lines);
        w.write(&batch).map_err(|e| corrupt(&self.path, self.row, e))?;
        w.finish().map_err(|e| corrupt(&self.path, self.row, e))?;
        drop(w);
        self.pos = 0;
        self.extras = extras;
        self.batch_row = 0;
        Ok(())
    }

    fn bad(&self, kind: &'static str, message: String) -> CoreError {
        CoreError::BadLine {
            path: self.path.clone(),
            line: self.row,
            kind,
            message,
        }
    }

    /// The next row as a document (its 1-based row number as the line), a per-row error, or the stream error
    /// that ends the shard.
    pub(crate) fn next_doc(&mut self, any_text: bool) -> Option<crate::io::LineResult> {
        loop {
            if self.done {
                return None;
            }
            if self.pos < self.lines.len() {
                let start = self.pos;
                let end = memchr::memchr(b'\n', &self.lines[start..]).map_or(self.lines.len(), |i| start + i);
                self.pos = (end + 1).min(self.lines.len());
                self.row += 1;
                let extra = self
                    .extras
                    .as_ref()
                    .filter(|a| a.is_valid(self.batch_row))
                    .map(|a| a.value(self.batch_row).to_string());
                self.batch_row += 1;
                if self.pos >= self.lines.len() {
                    self.report_bytes(self.row);
                }
                return Some(self.row_to_doc(&self.lines[start..end], extra.as_deref(), any_text));
            }
            match self.batches.next() {
                None => {
                    self.done = true;
                    self.report_bytes(self.total_rows);
                    return None;
                }
                Some(Err(e)) => {
                    self.done = true;
                    return Some(Err(corrupt(&self.path, self.row, e)));
                }
                Some(Ok(batch)) => {
                    if let Err(e) = self.load_batch(batch) {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
        }
    }

    fn row_to_doc(&self, line: &[u8], extra: Option<&str>, any_text: bool) -> crate::io::LineResult {
        let mut value: Value =
            serde_json::from_slice(line).map_err(|e| self.bad("invalid_json", format!("row as JSON: {e}")))?;
        if let Some(extra) = extra {
            let extra: Map<String, Value> = serde_json::from_str(extra)
                .map_err(|e| self.bad("invalid_json", format!("column {EXTRA_COLUMN}: {e}")))?;
            if let Value::Object(obj) = &mut value {
                obj.extend(extra);
            }
        }
        let doc = if any_text {
            Document::from_value_any(value)
        } else {
            Document::from_value(value)
        };
        doc.map(|d| (self.row, d)).map_err(|(kind, msg)| self.bad(kind, msg))
    }
}

/// A Parquet shard as a byte stream of JSON lines, one per row (absent or non-string `text` kept), for the
/// consumers that read shards line by line ([`crate::io::open_decompressed`]). A corrupt file ends the stream
/// with an I/O error naming the file and row.
pub(crate) struct ParquetLines {
    rows: ParquetRows,
    buf: Vec<u8>,
    pos: usize,
}

impl ParquetLines {
    pub(crate) fn open(path: &Path, raw_bytes: Arc<AtomicU64>) -> Result<Self> {
        Ok(ParquetLines {
            rows: ParquetRows::open(path, raw_bytes)?,
            buf: Vec::new(),
            pos: 0,
        })
    }
}

impl std::io::Read for ParquetLines {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            match self.rows.next_doc(true) {
                None => return Ok(0),
                Some(Ok((_, doc))) => doc.write_json_line(&mut self.buf),
                Some(Err(e)) => return Err(std::io::Error::other(e.to_string())),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The shape of a key's values across documents, from which its Arrow type follows. Where documents disagree
/// the first shape seen wins: the documents whose values do not fit keep them in the extra column.
#[derive(Debug, Clone, PartialEq)]
enum Shape {
    /// Only nulls (or integers beyond int64, or empty lists' elements) seen so far.
    Unknown,
    Bool,
    Int,
    Float,
    Str,
    List(Box<Shape>),
    Struct(Vec<(String, Shape)>),
}

impl Shape {
    fn of(v: &Value) -> Shape {
        match v {
            Value::Null => Shape::Unknown,
            Value::Bool(_) => Shape::Bool,
            Value::Number(n) if n.is_i64() => Shape::Int,
            Value::Number(n) if n.is_u64() => Shape::Unknown, // above int64: no exact column type
            Value::Number(_) => Shape::Float,
            Value::String(_) => Shape::Str,
            Value::Array(items) => {
                let mut s = Shape::Unknown;
                for it in items {
                    s = s.unify(Shape::of(it));
                }
                Shape::List(Box::new(s))
            }
            Value::Object(m) => Shape::Struct(m.iter().map(|(k, v)| (k.clone(), Shape::of(v))).collect()),
        }
    }

    fn unify(self, other: Shape) -> Shape {
        match (self, other) {
            (Shape::Unknown, o) => o,
            (Shape::List(a), Shape::List(b)) => Shape::List(Box::new(a.unify(*b))),
            (Shape::Struct(mut a), Shape::Struct(b)) => {
                for (k, sb) in b {
                    match a.iter_mut().find(|(ka, _)| *ka == k) {
                        Some((_, sa)) => *sa = std::mem::replace(sa, Shape::Unknown).unify(sb),
                        None => a.push((k, sb)),
                    }
                }
                Shape::Struct(a)
            }
            (a, _) => a,
        }
    }

    /// The Arrow type, or None when the key gets no column (only nulls, empty objects).
    fn data_type(&self) -> Option<DataType> {
        Some(match self {
            Shape::Unknown => return None,
            Shape::Bool => DataType::Boolean,
            Shape::Int => DataType::Int64,
            Shape::Float => DataType::Float64,
            Shape::Str => DataType::Utf8,
            // Elements never seen (only empty lists or nulls): strings, so that empty lists still round-trip.
            Shape::List(e) => match e.as_ref() {
                Shape::Unknown => DataType::new_list(DataType::Utf8, true),
                e => DataType::new_list(e.data_type()?, true),
            },
            Shape::Struct(fields) => {
                let mut out = Vec::with_capacity(fields.len());
                // A field seen only as null is left out: documents holding it use the extra column.
                for (k, s) in fields {
                    if let Some(dt) = s.data_type() {
                        out.push(Field::new(k, dt, true));
                    }
                }
                if out.is_empty() {
                    return None;
                }
                DataType::Struct(Fields::from(out))
            }
        })
    }
}

/// Whether `v` is stored exactly by a column of type `t` (read back as the same JSON value).
fn fits(v: &Value, t: &DataType, in_list: bool) -> bool {
    match (v, t) {
        // A null list element is kept as null; a null object field or top-level value would come back absent.
        (Value::Null, _) => in_list,
        (Value::Bool(_), DataType::Boolean) => true,
        (Value::Number(n), DataType::Int64) => n.is_i64(),
        (Value::Number(n), DataType::Float64) => n.is_f64(),
        (Value::String(_), DataType::Utf8) => true,
        (Value::Array(items), DataType::List(f)) => items.iter().all(|i| fits(i, f.data_type(), true)),
        (Value::Object(m), DataType::Struct(fields)) => m.iter().all(|(k, v)| {
            fields
                .iter()
                .find(|f| f.name() == k)
                .is_some_and(|f| fits(v, f.data_type(), false))
        }),
        _ => false,
    }
}

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(ZSTD_LEVEL).expect("zstd level 3 is valid"),
        ))
        .set_max_row_group_row_count(Some(ROW_GROUP_MAX_ROWS))
        // Page text is almost never repeated: a dictionary would only cost time and be abandoned.
        .set_column_dictionary_enabled(ColumnPath::from("text"), false)
        .set_created_by(format!("dclm-rs {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Writes documents into a Parquet file (the caller owns naming, the temporary name and the final rename).
pub(crate) struct ParquetDocWriter {
    path: PathBuf,
    writer: Option<ArrowWriter<File>>,
    schema: Option<SchemaRef>,
    pending: Vec<Document>,
    /// The pending documents' JSON lines, back to back, and where each ends.
    pending_lines: Vec<u8>,
    pending_ends: Vec<usize>,
    max_rows: usize,
}

impl ParquetDocWriter {
    /// Start a file at `path` (written directly; the first row group fixes the schema).
    pub(crate) fn new(path: &Path) -> Self {
        ParquetDocWriter {
            path: path.to_path_buf(),
            writer: None,
            schema: None,
            pending: Vec::new(),
            pending_lines: Vec::new(),
            pending_ends: Vec::new(),
            max_rows: ROW_GROUP_MAX_ROWS,
        }
    }

    /// Buffer one document; returns the length of its JSON line (the shard's uncompressed byte count).
    pub(crate) fn write(&mut self, doc: &Document) -> Result<u64> {
        let start = self.pending_lines.len();
        doc.write_json_line(&mut self.pending_lines);
        let n = self.pending_lines.len() - start;
        self.pending_ends.push(self.pending_lines.len());
        self.pending.push(doc.clone());
        if self.pending_lines.len() >= ROW_GROUP_TARGET_BYTES || self.pending.len() >= self.max_rows {
            self.flush_group()?;
        }
        Ok(n as u64)
    }

    fn io_err(&self, e: impl std::fmt::Display) -> CoreError {
        CoreError::io(&self.path, std::io::Error::other(e.to_string()))
    }

    /// Top-level shapes of a group of documents, in first-appearance order (`text` first, a string column
    /// whenever a document has string text; other `text` values always go to the extra column).
    fn shapes(docs: &[Document]) -> Vec<(String, Shape)> {
        let mut keys: Vec<(String, Shape)> = Vec::new();
        let mut add = |k: &str, s: Shape| match keys.iter_mut().find(|(kk, _)| kk == k) {
            Some((_, old)) => *old = std::mem::replace(old, Shape::Unknown).unify(s),
            None => keys.push((k.to_string(), s)),
        };
        for d in docs {
            match d.text_ref() {
                TextRef::Str(_) => add("text", Shape::Str),
                TextRef::Other(_) | TextRef::Absent => {}
            }
            for (k, v) in &d.fields {
                add(k, Shape::of(v));
            }
        }
        keys
    }

    /// A document whose `bad` keys go to the extra column, as one JSON line.
    fn split_row(d: &Document, bad: &[String], lines: &mut Vec<u8>) -> Result<()> {
        let mut row = Map::new();
        let mut extra = Map::new();
        let text = match d.text_ref() {
            TextRef::Str(s) => Some(Value::String(s.to_string())),
            TextRef::Other(v) => Some(v.clone()),
            TextRef::Absent => None,
        };
        if let Some(t) = text {
            let dest = if bad.iter().any(|b| b == "text") {
                &mut extra
            } else {
                &mut row
            };
            dest.insert("text".into(), t);
        }
        for (k, v) in &d.fields {
            let dest = if bad.contains(k) { &mut extra } else { &mut row };
            dest.insert(k.clone(), v.clone());
        }
        row.insert(EXTRA_COLUMN.into(), Value::String(Value::Object(extra).to_string()));
        serde_json::to_writer(&mut *lines, &row).map_err(CoreError::Serialize)?;
        lines.push(b'\n');
        Ok(())
    }

    /// Encode the buffered documents as one row group.
    fn flush_group(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let docs = std::mem::take(&mut self.pending);
        let pending_lines = std::mem::take(&mut self.pending_lines);
        let ends = std::mem::take(&mut self.pending_ends);
        // New keys (all of them for the first group) get columns.
        let known: Vec<String> = self
            .schema
            .as_ref()
            .map(|s| s.fields().iter().map(|f| f.name().clone()).collect())
            .unwrap_or_default();
        let mut new_fields: Vec<Field> = Vec::new();
        for (k, shape) in Self::shapes(&docs) {
            if k == EXTRA_COLUMN || known.contains(&k) {
                continue;
            }
            if let Some(dt) = shape.data_type() {
                new_fields.push(Field::new(k, dt, true));
            }
        }
        let mut fields: Vec<Field> = match &self.schema {
            Some(s) => s.fields().iter().map(|f| f.as_ref().clone()).collect(),
            None => Vec::new(),
        };
        let had_extra = fields.iter().any(|f| f.name() == EXTRA_COLUMN);
        fields.retain(|f| f.name() != EXTRA_COLUMN);
        fields.extend(new_fields);
        // Which documents need the extra column.
        let col_type = |k: &str| fields.iter().find(|f| f.name() == k).map(|f| f.data_type().clone());
        let mut misfits: Vec<Vec<String>> = Vec::with_capacity(docs.len());
        for d in &docs {
            let mut bad = Vec::new();
            let text_fits = match d.text_ref() {
                TextRef::Str(_) => col_type("text") == Some(DataType::Utf8),
                TextRef::Other(_) => false,
                TextRef::Absent => true,
            };
            if !text_fits {
                bad.push("text".to_string());
            }
            for (k, v) in &d.fields {
                if k == EXTRA_COLUMN || !col_type(k).is_some_and(|dt| fits(v, &dt, false)) {
                    bad.push(k.clone());
                }
            }
            misfits.push(bad);
        }
        let need_extra = had_extra || misfits.iter().any(|m| !m.is_empty());
        if need_extra {
            fields.push(Field::new(EXTRA_COLUMN, DataType::Utf8, true));
        }
        if fields.is_empty() {
            fields.push(Field::new("text", DataType::Utf8, true));
        }
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        if self.schema.as_ref() != Some(&schema) {
            self.widen(schema.clone())?;
        }
        // Rows as JSON lines in the schema's shape, decoded by arrow-json.
        let lines: Vec<u8> = if misfits.iter().all(Vec::is_empty) {
            pending_lines
        } else {
            let mut lines = Vec::with_capacity(pending_lines.len());
            for (i, (d, bad)) in docs.iter().zip(&misfits).enumerate() {
                if bad.is_empty() {
                    let start = if i == 0 { 0 } else { ends[i - 1] };
                    lines.extend_from_slice(&pending_lines[start..ends[i]]);
                    continue;
                }
                Self::split_row(d, bad, &mut lines)?;
            }
            lines
        };
        let mut decoder = arrow_json::ReaderBuilder::new(schema.clone())
            .with_batch_size(docs.len().max(1))
            .build_decoder()
            .map_err(|e| self.io_err(e))?;
        let mut at = 0;
        let writer = self.writer.as_mut().expect("widen opened the writer");
        while at < lines.len() {
            let n = decoder
                .decode(&lines[at..])
                .map_err(|e| CoreError::io(&self.path, std::io::Error::other(e.to_string())))?;
            at += n;
            if let Some(batch) = decoder
                .flush()
                .map_err(|e| CoreError::io(&self.path, std::io::Error::other(e.to_string())))?
            {
                writer
                    .write(&batch)
                    .map_err(|e| CoreError::io(&self.path, std::io::Error::other(e.to_string())))?;
            }
            if n == 0 {
                break;
            }
        }
        writer
            .flush()
            .map_err(|e| CoreError::io(&self.path, std::io::Error::other(e.to_string())))
    }

    /// Switch to `schema`: open the file on the first group; afterwards re-encode the row groups written so far
    /// with the added columns null.
    fn widen(&mut self, schema: SchemaRef) -> Result<()> {
        let open = |path: &Path, schema: &SchemaRef| -> Result<ArrowWriter<File>> {
            let file = File::create(path).map_err(|e| CoreError::io(path, e))?;
            ArrowWriter::try_new(file, schema.clone(), Some(writer_properties()))
                .map_err(|e| CoreError::io(path, std::io::Error::other(e.to_string())))
        };
        let Some(old) = self.writer.take() else {
            self.writer = Some(open(&self.path, &schema)?);
            self.schema = Some(schema);
            return Ok(());
        };
        old.close().map_err(|e| self.io_err(e))?;
        let mut wide_path = self.path.as_os_str().to_os_string();
        wide_path.push(".widen");
        let wide_path = PathBuf::from(wide_path);
        let mut w = open(&wide_path, &schema)?;
        let file = File::open(&self.path).map_err(|e| CoreError::io(&self.path, e))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(|e| self.io_err(e))?;
        let groups = builder.metadata().num_row_groups();
        drop(builder);
        for g in 0..groups {
            let file = File::open(&self.path).map_err(|e| CoreError::io(&self.path, e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.with_row_groups(vec![g]).with_batch_size(8192).build())
                .map_err(|e| self.io_err(e))?;
            for batch in reader {
                let batch = batch.map_err(|e| self.io_err(e))?;
                let cols: Vec<ArrayRef> = schema
                    .fields()
                    .iter()
                    .map(|f| match batch.schema().index_of(f.name()) {
                        Ok(i) => batch.column(i).clone(),
                        Err(_) => new_null_array(f.data_type(), batch.num_rows()),
                    })
                    .collect();
                let wide = RecordBatch::try_new(schema.clone(), cols).map_err(|e| self.io_err(e))?;
                w.write(&wide).map_err(|e| self.io_err(e))?;
            }
            w.flush().map_err(|e| self.io_err(e))?;
        }
        std::fs::rename(&wide_path, &self.path).map_err(|e| CoreError::io(&self.path, e))?;
        self.writer = Some(w);
        self.schema = Some(schema);
        Ok(())
    }

    /// Write the last row group and the footer; returns the file, synced.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.flush_group()?;
        if self.writer.is_none() {
            // No document at all: a valid empty file with a `text` column.
            let schema = Arc::new(Schema::new(vec![Field::new("text", DataType::Utf8, true)]));
            self.widen(schema)?;
        }
        let w = self.writer.take().expect("opened above");
        let file = w.into_inner().map_err(|e| self.io_err(e))?;
        file.sync_all().map_err(|e| CoreError::io(&self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::{ShardReader, ShardWriter};
    use serde_json::json;

    fn doc(v: Value) -> Document {
        Document::from_value_any(v).unwrap()
    }

    fn read(path: &Path) -> Vec<Document> {
        ShardReader::open(path)
            .unwrap()
            .with_any_text(true)
            .map(|r| r.unwrap().1)
            .collect()
    }

    fn write_groups(path: &Path, docs: &[Document], rows_per_group: usize) {
        let tmp = crate::io::tmp_path(path);
        let mut w = ParquetDocWriter::new(&tmp);
        w.max_rows = rows_per_group;
        for d in docs {
            w.write(d).unwrap();
        }
        w.finish().unwrap();
        std::fs::rename(tmp, path).unwrap();
    }

    fn row_groups(path: &Path) -> (usize, Vec<String>) {
        let b = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
        let names = b.schema().fields().iter().map(|f| f.name().clone()).collect();
        (b.metadata().num_row_groups(), names)
    }

    /// Pages of every shape DCLM writes, plus the awkward ones: conflicting types, nulls, big integers,
    /// non-string or missing `text`, empty objects and lists, a key named like the extra column.
    fn zoo() -> Vec<Document> {
        vec![
            doc(
                json!({"text": "a", "url": "u1", "metadata": {"WARC-Type": "response", "len": 3},
                       "score": 0.5, "n": 1, "tags": ["x", "y"], "ok": true}),
            ),
            doc(json!({"text": "b", "url": "u2", "metadata": {"WARC-Type": "response"},
                       "score": 1, "n": 2, "tags": [], "nested": [[1, 2], [], [null, 3]]})),
            doc(json!({"url": "u3", "n": null, "score": 0.25, "big": 18446744073709551615u64})),
            doc(json!({"text": ["line one", "line two"], "metadata": {"WARC-Type": null}, "empty": {}})),
            doc(json!({"text": "c", "tags": ["z", null], "mixed": "s", EXTRA_COLUMN: "mine"})),
            doc(json!({"text": "d", "mixed": 7, "metadata": {"len": 2.5}})),
        ]
    }

    #[test]
    fn every_document_reads_back_equal() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.parquet");
        let docs = zoo();
        let mut w = ShardWriter::create(&p).unwrap();
        for d in &docs {
            w.write(d).unwrap();
        }
        w.finish().unwrap();
        assert_eq!(read(&p), docs);
        let (groups, names) = row_groups(&p);
        assert_eq!(groups, 1);
        assert_eq!(names[0], "text");
        assert!(names.contains(&EXTRA_COLUMN.to_string()), "{names:?}");
        // Fitting keys are real columns; conflicting ones are not.
        for k in ["url", "metadata", "score", "n", "tags", "ok", "nested", "mixed"] {
            assert!(names.contains(&k.to_string()), "{k} in {names:?}");
        }
        for k in ["big", "empty"] {
            assert!(!names.contains(&k.to_string()), "{k} in {names:?}");
        }
    }

    #[test]
    fn documents_that_fit_need_no_extra_column() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.parquet");
        let docs: Vec<Document> = (0..10)
            .map(|i| doc(json!({"text": format!("page {i}"), "url": format!("u{i}"), "p": i as f64 + 0.5})))
            .collect();
        crate::io::write_all(&p, &docs).unwrap();
        assert_eq!(read(&p), docs);
        assert_eq!(row_groups(&p).1, ["text", "url", "p"]);
    }

    #[test]
    fn later_row_groups_widen_the_schema() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.parquet");
        let mut docs = Vec::new();
        for i in 0..7i64 {
            let mut v = json!({"text": format!("t{i}"), "i": i});
            if i >= 3 {
                v["late"] = json!({"k": i});
            }
            if i == 6 {
                v["i"] = json!("six"); // a conflict in the last group: the extra column appears then
            }
            docs.push(doc(v));
        }
        write_groups(&p, &docs, 3);
        assert_eq!(read(&p), docs);
        let (groups, names) = row_groups(&p);
        assert_eq!(groups, 3);
        assert_eq!(names, ["text", "i", "late", EXTRA_COLUMN]);
    }

    #[test]
    fn line_readers_see_one_json_line_per_row() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.parquet");
        let docs = zoo();
        crate::io::write_all(&p, &docs).unwrap();
        let raw = Arc::new(AtomicU64::new(0));
        let mut text = String::new();
        std::io::Read::read_to_string(&mut crate::io::open_decompressed(&p, raw.clone()).unwrap(), &mut text).unwrap();
        let back: Vec<Document> = text.lines().map(|l| Document::from_json_line_any(l).unwrap()).collect();
        assert_eq!(back, docs);
        assert_eq!(raw.load(Ordering::Relaxed), std::fs::metadata(&p).unwrap().len());
    }

    #[test]
    fn an_empty_shard_is_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("e.parquet");
        ShardWriter::create(&p).unwrap().finish().unwrap();
        assert!(read(&p).is_empty());
        assert_eq!(row_groups(&p).1, ["text"]);
    }

    #[test]
    fn missing_text_is_a_row_error_and_a_cut_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.parquet");
        let docs = vec![
            doc(json!({"text": "a"})),
            doc(json!({"url": "no text"})),
            doc(json!({"text": "c"})),
        ];
        crate::io::write_all(&p, &docs).unwrap();
        let items: Vec<_> = ShardReader::open(&p).unwrap().collect();
        assert_eq!(items.len(), 3);
        let e = items[1].as_ref().unwrap_err();
        assert_eq!(e.reason(), "missing_text");
        assert!(e.to_string().contains("m.parquet:2:"), "{e}");
        assert_eq!(items[2].as_ref().unwrap().0, 3);
        // A truncated file (footer gone) is a corrupt stream naming the file, not a panic.
        let bytes = std::fs::read(&p).unwrap();
        let cut = dir.path().join("cut.parquet");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let err = ShardReader::open(&cut).err().expect("a cut file is refused");
        assert_eq!(err.reason(), "corrupt_stream");
        assert!(err.to_string().contains("cut.parquet"), "{err}");
    }

    #[test]
    fn raw_lines_are_accepted_and_bytes_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.parquet");
        let mut w = ShardWriter::create(&p).unwrap();
        let raw = b"{\"text\":\"x\",\"k\":1}\n\n{\"text\":\"y\"}\n";
        w.write_raw(raw).unwrap();
        // The uncompressed size counts each document's JSON line (the blank line carries none).
        assert_eq!(w.bytes_written(), raw.len() as u64 - 1);
        w.finish().unwrap();
        let got = read(&p);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].get("k"), Some(&json!(1)));
        let raw = Arc::new(AtomicU64::new(0));
        let n = ShardReader::open_counted(&p, raw.clone()).unwrap().count();
        assert_eq!(n, 2);
        assert_eq!(raw.load(Ordering::Relaxed), std::fs::metadata(&p).unwrap().len());
    }
}
