// libFuzzer target for ConnectionState (core/connection_state.h): the
// whole per-connection protocol machine, driven with arbitrary socket bytes.
//
// The input is the byte stream a web server sends (so captures of real nginx,
// Apache and cgi-fcgi traffic are seeds as they are). A fake owner plays the
// program side deterministically from the same input (a Decider reads the
// input's bytes in another order): it ends requests at once or later, writes
// STDOUT/STDERR of various sizes, ends aborted requests now or later, and
// probes ids that are not active. Chunk sizes and the limits (params bytes,
// active requests) come from the Decider too.
//
// Invariants checked after every step (abort() on violation):
//  - every request the owner was told about (OnRequestReady) ends exactly
//    once: EndRequest succeeds once, a second EndRequest fails, and after the
//    final drain none is left;
//  - the set of active ids equals a reference model built from the input
//    records and the END_REQUEST records of the output;
//  - no record is emitted for an id that is not active (output parsed with
//    the codec), nothing follows a stream's empty record, END_REQUEST for a
//    started request comes only from the owner's EndRequest;
//  - Append* on an inactive id returns false and appends nothing;
//  - callbacks arrive only for started requests, never after their stream
//    ended; OnAbort only for running requests;
//  - the PARAMS buffer of any request never exceeds the limit;
//  - the output is valid FastCGI 1.0: version 1, types an application sends,
//    management records on id 0, 8-byte END_REQUEST bodies, whole records.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/connection_state.h"
#include "core/fcgi_bodies.h"
#include "core/fcgi_name_value.h"
#include "core/fcgi_record_parser.h"

namespace {

void Check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "connection_state_fuzzer: invariant violated: %s\n", what);
    std::abort();
  }
}

// Deterministic choices derived from the input (read in a different order
// than the stream, so that mutating one byte changes both a little).
class Decider {
 public:
  Decider(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t Next() {
    ++i_;
    if (size_ == 0) return static_cast<uint8_t>(i_ * 37);
    return static_cast<uint8_t>(data_[(size_ - 1 - (i_ * 13) % size_)] ^ (i_ * 101));
  }
  size_t Below(size_t n) { return n == 0 ? 0 : (Next() | (size_t{Next()} << 8)) % n; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t i_ = 0;
};

// Parses everything the ConnectionState emits and checks it against the model.
class OutputChecker {
 public:
  explicit OutputChecker(std::set<uint16_t>* model_active) : model_active_(model_active) {}

  // `owner_ending`: the id the owner is ending right now (0 when none).
  void Consume(std::string* output, const std::set<uint16_t>& started, uint16_t owner_ending) {
    std::string_view in(*output);
    while (!in.empty()) {
      size_t consumed = 0;
      fcgi::Record rec;
      auto r = parser_.Parse(in, &consumed, &rec);
      Check(r != fcgi::RecordParser::Result::kError, "output is not valid FastCGI");
      in.remove_prefix(consumed);
      if (r == fcgi::RecordParser::Result::kNeedMore) break;
      Handle(rec, started, owner_ending);
    }
    Check(parser_.AtRecordBoundary(), "output ends inside a record");
    output->clear();
  }

  size_t end_requests() const { return end_requests_; }

 private:
  struct Streams {
    bool stdout_closed = false;
    bool stderr_closed = false;
  };

  void Handle(const fcgi::Record& rec, const std::set<uint16_t>& started, uint16_t owner_ending) {
    Check(rec.header.version == fcgi::kVersion1, "output record version");
    const uint16_t id = rec.header.request_id;
    const auto type = static_cast<fcgi::RecordType>(rec.header.type);
    if (type == fcgi::RecordType::kGetValuesResult || type == fcgi::RecordType::kUnknownType) {
      Check(id == fcgi::kNullRequestId, "management record with a request id");
      if (type == fcgi::RecordType::kGetValuesResult) {
        fcgi::NameValuePairs pairs;
        Check(fcgi::DecodeNameValues(rec.content, &pairs).ok(), "GET_VALUES_RESULT body");
      } else {
        fcgi::UnknownTypeBody body;
        Check(fcgi::DecodeUnknownTypeBody(rec.content, &body).ok(), "UNKNOWN_TYPE body");
      }
      return;
    }
    Check(id != fcgi::kNullRequestId, "application record on id 0");
    Check(model_active_->count(id) != 0, "record emitted for an id that is not active");
    Streams& s = streams_[id];
    switch (type) {
      case fcgi::RecordType::kStdout:
        Check(!s.stdout_closed, "STDOUT after the empty STDOUT record");
        if (rec.content.empty()) s.stdout_closed = true;
        break;
      case fcgi::RecordType::kStderr:
        Check(!s.stderr_closed, "STDERR after the empty STDERR record");
        if (rec.content.empty()) s.stderr_closed = true;
        break;
      case fcgi::RecordType::kEndRequest: {
        fcgi::EndRequestBody body;
        Check(rec.content.size() == fcgi::kEndRequestBodySize &&
                  fcgi::DecodeEndRequestBody(rec.content, &body).ok(),
              "END_REQUEST body");
        Check(body.protocol_status <= static_cast<uint8_t>(fcgi::ProtocolStatus::kUnknownRole),
              "END_REQUEST protocolStatus");
        if (started.count(id) != 0) {
          Check(owner_ending == id, "a started request ended without the owner ending it");
          Check(s.stdout_closed, "END_REQUEST of a started request without the empty STDOUT");
        }
        model_active_->erase(id);
        streams_.erase(id);
        ++end_requests_;
        break;
      }
      default:
        Check(false, "output record of a type an application never sends");
    }
  }

  std::set<uint16_t>* model_active_;
  fcgi::RecordParser parser_;
  std::map<uint16_t, Streams> streams_;
  size_t end_requests_ = 0;
};

class FakeOwner : public fcgi::ConnectionEvents {
 public:
  FakeOwner(Decider* decider, const fcgi::ConnectionLimits& limits)
      : decider_(decider), state_(this, limits), checker_(&model_active_) {}

  fcgi::ConnectionState& state() { return state_; }
  std::set<uint16_t>& model_active() { return model_active_; }
  const std::set<uint16_t>& started() const { return started_; }
  OutputChecker& checker() { return checker_; }
  std::string& output() { return output_; }

  void OnRequestReady(uint16_t id, fcgi::Role role, bool keep_conn, fcgi::NameValuePairs params) override {
    (void)keep_conn;
    (void)params;
    Check(role >= fcgi::Role::kResponder && role <= fcgi::Role::kFilter, "role out of range");
    Check(started_.count(id) == 0, "OnRequestReady for a request already running");
    Check(state_.IsRunning(id), "OnRequestReady but the state does not say running");
    started_.insert(id);
    streams_[id] = {};
    ++starts_;
    const uint8_t what = decider_->Next() % 8;
    if (what == 0) {
      // Fails at once (as a spawn failure or --max-body 413 does).
      Write(id, "Status: 502 Bad Gateway\r\n\r\nspawn failed\n", false);
      End(id);
    } else if (what == 1) {
      Write(id, "Content-Type: text/plain\r\n\r\n", false);
    }
  }
  void OnStdin(uint16_t id, std::string_view data) override {
    Check(!data.empty(), "empty OnStdin");
    Check(started_.count(id) != 0 && !streams_[id].stdin_ended, "OnStdin out of order");
    if (decider_->Next() % 16 == 0) Write(id, data.substr(0, 100), false);
  }
  void OnStdinEnd(uint16_t id) override {
    Check(started_.count(id) != 0 && !streams_[id].stdin_ended, "OnStdinEnd twice or unstarted");
    streams_[id].stdin_ended = true;
    if (decider_->Next() % 4 == 0) End(id);
  }
  void OnData(uint16_t id, std::string_view data) override {
    Check(!data.empty(), "empty OnData");
    Check(started_.count(id) != 0 && !streams_[id].data_ended, "OnData out of order");
  }
  void OnDataEnd(uint16_t id) override {
    Check(started_.count(id) != 0 && !streams_[id].data_ended, "OnDataEnd twice or unstarted");
    streams_[id].data_ended = true;
  }
  void OnAbort(uint16_t id) override {
    Check(started_.count(id) != 0, "OnAbort for a request that is not running");
    if (decider_->Next() % 2 == 0) End(id);  // else it ends at a later step
  }

  // Writes program output for `id` (stderr or stdout); checks Append*'s result.
  void Write(uint16_t id, std::string_view data, bool to_stderr) {
    const bool active = state_.IsActive(id);
    const size_t before = output_.size();
    bool ok = to_stderr ? state_.AppendStderr(id, data, &output_) : state_.AppendStdout(id, data, &output_);
    Check(ok == active, "Append* result differs from IsActive");
    if (!ok) Check(output_.size() == before, "Append* for an inactive id appended bytes");
  }

  // The owner ends a running request (the program exited or was stopped).
  void End(uint16_t id) {
    Check(started_.count(id) != 0, "owner ends a request it never started");
    const uint8_t status = decider_->Next();
    const bool ok = state_.EndRequest(id, status, fcgi::ProtocolStatus::kRequestComplete, &output_);
    Check(ok, "EndRequest failed for a started request");
    checker_.Consume(&output_, started_, id);  // END_REQUEST attributed to the owner
    started_.erase(id);
    streams_.erase(id);
    ++ends_;
    Check(!state_.EndRequest(id, 0, fcgi::ProtocolStatus::kRequestComplete, &output_),
          "EndRequest succeeded twice for one request");
    Check(output_.empty(), "a second EndRequest appended bytes");
  }

  size_t starts() const { return starts_; }
  size_t ends() const { return ends_; }

 private:
  struct Streams {
    bool stdin_ended = false;
    bool data_ended = false;
  };

  Decider* decider_;
  std::set<uint16_t> model_active_;  // ids begun on input and not yet ended on output
  fcgi::ConnectionState state_;
  OutputChecker checker_;
  std::set<uint16_t> started_;  // OnRequestReady told, not yet ended by the owner
  std::map<uint16_t, Streams> streams_;
  std::string output_;
  size_t starts_ = 0;
  size_t ends_ = 0;
};

// Updates the model with one input record, the way the protocol defines it:
// a decodable BEGIN_REQUEST for an id not active makes it active (an unknown
// role or an overload ends it again on the output side).
void ModelInput(const fcgi::Record& rec, std::set<uint16_t>* model_active) {
  if (rec.header.type != static_cast<uint8_t>(fcgi::RecordType::kBeginRequest)) return;
  if (rec.header.request_id == fcgi::kNullRequestId) return;
  fcgi::BeginRequestBody body;
  if (!fcgi::DecodeBeginRequestBody(rec.content, &body).ok()) return;
  model_active->insert(rec.header.request_id);
}

void CheckModel(FakeOwner& owner, const fcgi::ConnectionLimits& limits) {
  fcgi::ConnectionState& state = owner.state();
  Check(state.active_requests() == owner.model_active().size(), "active count differs from model");
  for (uint16_t id : owner.model_active()) Check(state.IsActive(id), "model id not active");
  for (uint16_t id : owner.started()) Check(state.IsRunning(id), "started request not running");
  Check(state.active_requests() <= limits.max_requests, "more active requests than the limit");
  Check(state.LargestParamsBuffer() <= limits.max_params_bytes, "PARAMS buffer past its limit");
}

// One step of the program side between reads.
void ProgramStep(FakeOwner& owner, Decider& decider) {
  const size_t actions = decider.Next() % 4;
  for (size_t a = 0; a < actions; ++a) {
    const uint8_t what = decider.Next() % 8;
    if (what == 7 || owner.started().empty()) {
      // Probe any id (usually inactive): must be refused cleanly when inactive.
      const uint16_t id = static_cast<uint16_t>(decider.Below(8));
      owner.Write(id, "probe", decider.Next() % 2 == 0);
      owner.checker().Consume(&owner.output(), owner.started(), 0);
      continue;
    }
    auto it = owner.started().begin();
    std::advance(it, decider.Below(owner.started().size()));
    const uint16_t id = *it;
    if (what <= 2) {
      // Output of various sizes, sometimes more than one record's worth.
      size_t size = decider.Next() % 4 == 0 ? 65536 + decider.Below(200) : decider.Below(300);
      owner.Write(id, std::string(size, 'o'), false);
    } else if (what <= 4) {
      owner.Write(id, std::string(decider.Below(64), 'e'), true);
    } else {
      owner.End(id);
      continue;
    }
    owner.checker().Consume(&owner.output(), owner.started(), 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Decider decider(data, size);
  fcgi::ConnectionLimits limits;
  limits.max_params_bytes = 16 + decider.Below(4096);
  limits.max_requests = 1 + decider.Below(8);

  FakeOwner owner(&decider, limits);
  fcgi::ConnectionState& state = owner.state();
  // Splits the input at record ends so that one Feed completes at most one
  // record: the model then sees input and output in the order they happened.
  fcgi::RecordParser splitter;
  bool closed = false;
  while (!input.empty() && !closed) {
    size_t want = decider.Next() % 4 == 0 ? input.size() : 1 + decider.Below(64);
    std::string_view chunk = input.substr(0, want);
    size_t consumed = 0;
    fcgi::Record rec;
    auto r = splitter.Parse(chunk, &consumed, &rec);
    if (r == fcgi::RecordParser::Result::kRecord) chunk = chunk.substr(0, consumed);
    // (rec.content may point into `splitter`: it is used before the next Parse.)
    std::string record_content = r == fcgi::RecordParser::Result::kRecord ? std::string(rec.content) : "";
    input.remove_prefix(chunk.size());

    fcgi::Status s = state.Feed(chunk, &owner.output());
    // A codec error is an error of Feed; Feed may also fail on a record
    // (STDIN before PARAMS ended).
    if (r == fcgi::RecordParser::Result::kError) Check(!s.ok(), "Feed accepted bytes the codec rejects");
    if (r == fcgi::RecordParser::Result::kNeedMore) Check(s.ok(), "Feed failed without a complete record");
    if (r == fcgi::RecordParser::Result::kRecord) {
      fcgi::Record copy = rec;
      copy.content = record_content;
      ModelInput(copy, &owner.model_active());
    }
    owner.checker().Consume(&owner.output(), owner.started(), 0);
    if (!s.ok()) closed = true;  // the owner closes the connection
    CheckModel(owner, limits);
    if (!closed) ProgramStep(owner, decider);
    CheckModel(owner, limits);
    if (state.ShouldClose()) closed = true;
  }
  if (!closed)
    Check(state.AtRecordBoundary() == splitter.AtRecordBoundary(), "boundary differs from the codec's");

  // The connection ends: every running program is stopped and its request ended.
  while (!owner.started().empty()) owner.End(*owner.started().begin());
  CheckModel(owner, limits);
  Check(owner.starts() == owner.ends(), "a started request did not end exactly once");
  Check(state.active_requests() == owner.model_active().size(), "requests left behind");
  for (uint16_t id : owner.model_active()) {
    Check(!state.IsRunning(id), "a running request left after the drain");
  }
  static const bool verbose = std::getenv("CONNECTION_STATE_FUZZER_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "connection_state_fuzzer: %zu bytes: %zu requests started, %zu END_REQUEST, %s\n",
                 size, owner.starts(), owner.checker().end_requests(), closed ? "closed" : "open");
  }
  return 0;
}
