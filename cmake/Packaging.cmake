# Install rules beyond the two binaries (launcher/ and libcompat/ install
# those), and the Debian package (CPack DEB, `make deb`).
#
# Layout under the prefix (GNUInstallDirs; /usr in the .deb):
#   bin/fcgi-run
#   <libdir>/fcgi-run/libfcgi-run-compat.so   found at run time relative to the
#                                             binary (FCGI_RUN_COMPAT_INSTALL_DIR)
#   <libdir>/fcgi-run/FcgiRun/ScriptPark.pm,  script park's Perl module and Python
#   <libdir>/fcgi-run/fcgi_run_park.py        bootstrap, found next to the library
#                                             (installed by libcompat/CMakeLists.txt)
#   share/man/man1/fcgi-run.1.gz
#   share/doc/fcgi-run/README.md, docs/guide/ and docs/protocol.md (so the
#                       README's links resolve), examples/ (the example programs'
#                       sources), LICENSE, and `copyright` (Debian's format)
#   lib/systemd/system/fcgi-run@.service, fcgi-run@.socket
#                       the socket-activated template units, disabled until an
#                       instance is enabled; ExecStart names bin/fcgi-run of
#                       this install's prefix. systemd reads units from
#                       /usr/lib/systemd/system (the .deb, PREFIX=/usr) and
#                       /usr/local/lib/systemd/system (make install's default).

# The man page, compressed as Debian ships man pages (-n: reproducible).
set(FCGI_RUN_MAN_PAGE ${PROJECT_BINARY_DIR}/docs/fcgi-run.1.gz)
add_custom_command(
  OUTPUT ${FCGI_RUN_MAN_PAGE}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/docs
  COMMAND sh -c "gzip -9n -c '${PROJECT_SOURCE_DIR}/docs/fcgi-run.1' > '${FCGI_RUN_MAN_PAGE}'"
  DEPENDS ${PROJECT_SOURCE_DIR}/docs/fcgi-run.1
  COMMENT "Compressing the man page"
  VERBATIM)
add_custom_target(fcgi_run_man_page ALL DEPENDS ${FCGI_RUN_MAN_PAGE})

install(FILES ${FCGI_RUN_MAN_PAGE} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/guide DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(FILES ${PROJECT_SOURCE_DIR}/docs/protocol.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        USE_SOURCE_PERMISSIONS
        PATTERN CMakeLists.txt EXCLUDE
        PATTERN systemd EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/cmake/debian-copyright DESTINATION ${CMAKE_INSTALL_DOCDIR} RENAME copyright)

# The systemd units. ExecStart must name the fcgi-run of *this* install, whose
# prefix is known only when it runs (`cmake --install --prefix`, `make install
# PREFIX=`, CPack's /usr): the service unit is written from its template then,
# with CMAKE_INSTALL_PREFIX as the install script sees it (DESTDIR excluded).
set(FCGI_RUN_UNIT_TEMPLATE ${PROJECT_SOURCE_DIR}/examples/systemd/fcgi-run@.service.in)
set(FCGI_RUN_UNIT_OUT ${PROJECT_BINARY_DIR}/systemd/fcgi-run@.service)
install(CODE "
  set(FCGI_RUN_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  configure_file(\"${FCGI_RUN_UNIT_TEMPLATE}\" \"${FCGI_RUN_UNIT_OUT}\" @ONLY)
")
install(FILES ${FCGI_RUN_UNIT_OUT} ${PROJECT_SOURCE_DIR}/examples/systemd/fcgi-run@.socket
        DESTINATION lib/systemd/system)

# Debian package: `make deb` (cpack -G DEB in the build directory).
# cpack (and `make install` in the build directory) would first build `all`,
# the test binaries included: install only what the install rules name, which
# `make install`/`make deb` build beforehand (fcgi-run, fcgi_compat, the man page).
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME fcgi-run)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "fcgi-run")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_CONTACT "fcgi-run maintainers <fcgi-run@localhost>")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "fcgi-run maintainers <fcgi-run@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "FastCGI launcher for unmodified CGI programs")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "FastCGI launcher for unmodified CGI programs
 fcgi-run serves an unmodified CGI program (or, in dispatcher mode, the
 programs requests name) over FastCGI on a unix socket, a TCP port, an
 inherited socket or systemd socket activation, for nginx and other web
 servers without CGI support. Programs run per request by fork+exec, by
 fork from a process parked at main() (the default), or persistently.")
set(CPACK_DEBIAN_PACKAGE_SECTION httpd)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://localhost/fcgi-run")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)          # Depends: from dpkg-shlibdeps (libc6, Boost, libstdc++)
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nginx | httpd")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)         # fcgi-run_<version>_<arch>.deb
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
include(CPack)
