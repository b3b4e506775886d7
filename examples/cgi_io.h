/* cgi_io: the stdio loops the example programs share (EINTR-safe). */
#ifndef FCGI_RUN_EXAMPLES_CGI_IO_H_
#define FCGI_RUN_EXAMPLES_CGI_IO_H_

#include <stddef.h>

/* Writes all of data[size] to stdout. 0, or -1 with errno set. */
int WriteAll(const char* data, size_t size);

/* Reads stdin to EOF: its length in *length and its SHA-256 as 64 hex digits
 * (NUL-terminated) in hex. 0, or -1 with errno set. */
int Sha256OfStdin(char hex[65], unsigned long long* length);

#endif /* FCGI_RUN_EXAMPLES_CGI_IO_H_ */
