// FastCGI 1.0 wire-format constants (the specification's section 8), in one place.
// Everything here is a plain constant or enum; no code. See fcgi_record_parser.h and
// fcgi_record_writer.h for the codec built on them.
#ifndef FCGI_RUN_CORE_FCGI_PROTOCOL_H_
#define FCGI_RUN_CORE_FCGI_PROTOCOL_H_

#include <cstddef>
#include <cstdint>

namespace fcgi {

inline constexpr uint8_t kVersion1 = 1;
inline constexpr size_t kHeaderSize = 8;
inline constexpr size_t kMaxContentLength = 65535;
inline constexpr size_t kMaxPaddingLength = 255;
inline constexpr uint16_t kNullRequestId = 0;  // management records
inline constexpr size_t kBeginRequestBodySize = 8;
inline constexpr size_t kEndRequestBodySize = 8;
inline constexpr size_t kUnknownTypeBodySize = 8;

enum class RecordType : uint8_t {
  kBeginRequest = 1,
  kAbortRequest = 2,
  kEndRequest = 3,
  kParams = 4,
  kStdin = 5,
  kStdout = 6,
  kStderr = 7,
  kData = 8,
  kGetValues = 9,
  kGetValuesResult = 10,
  kUnknownType = 11,
};
inline constexpr uint8_t kMaxKnownRecordType = 11;

enum class Role : uint16_t {
  kResponder = 1,
  kAuthorizer = 2,
  kFilter = 3,
};

inline constexpr uint8_t kFlagKeepConn = 1;

enum class ProtocolStatus : uint8_t {
  kRequestComplete = 0,
  kCantMpxConn = 1,
  kOverloaded = 2,
  kUnknownRole = 3,
};

// Names a GET_VALUES query may ask for.
inline constexpr const char* kMaxConns = "FCGI_MAX_CONNS";
inline constexpr const char* kMaxReqs = "FCGI_MAX_REQS";
inline constexpr const char* kMpxsConns = "FCGI_MPXS_CONNS";

// Human-readable name of a record type ("STDIN"), or "type N" for unknown ones.
const char* RecordTypeName(uint8_t type);

}  // namespace fcgi

#endif  // FCGI_RUN_CORE_FCGI_PROTOCOL_H_
