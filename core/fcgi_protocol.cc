#include "core/fcgi_protocol.h"

namespace fcgi {

const char* RecordTypeName(uint8_t type) {
  switch (type) {
    case 1:
      return "BEGIN_REQUEST";
    case 2:
      return "ABORT_REQUEST";
    case 3:
      return "END_REQUEST";
    case 4:
      return "PARAMS";
    case 5:
      return "STDIN";
    case 6:
      return "STDOUT";
    case 7:
      return "STDERR";
    case 8:
      return "DATA";
    case 9:
      return "GET_VALUES";
    case 10:
      return "GET_VALUES_RESULT";
    case 11:
      return "UNKNOWN_TYPE";
    default:
      return "unknown type";
  }
}

}  // namespace fcgi
