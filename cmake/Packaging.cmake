# Installation to FHS paths and the Debian package (CPack DEB). The
# units hard-code /usr/bin/hss-jobwatchd and /etc/hss-jobwatch, so the
# package (and a system-wide `cmake --install`) uses the prefix /usr.
include(GNUInstallDirs)

set(HSSJW_CONFIG_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/hss-jobwatch" CACHE PATH "configuration directory")

install(FILES systemd/hss-jobwatch.service systemd/hss-jobwatch.socket DESTINATION lib/systemd/system)
install(FILES systemd/hss-jobwatch.sysusers DESTINATION lib/sysusers.d RENAME hss-jobwatch.conf)
install(FILES systemd/hss-jobwatch.tmpfiles DESTINATION lib/tmpfiles.d RENAME hss-jobwatch.conf)
# The config names secret files, never secrets, but it is still the
# operator's business: root-owned 0640 (postinst gives the group to the
# daemon). credentials/ holds the secrets LoadCredential= passes: root only.
install(FILES config/example.yaml DESTINATION ${HSSJW_CONFIG_DIR} RENAME config.yaml
        PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(DIRECTORY DESTINATION ${HSSJW_CONFIG_DIR}/credentials
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
install(FILES README.md config/example.yaml DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR} FILES_MATCHING PATTERN "*.md")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hss-jobwatch)
set(CPACK_PACKAGE_VENDOR "hss-jobwatch")
set(CPACK_PACKAGE_CONTACT "hss-jobwatch maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Change events for Huawei Cloud HSS Kubernetes jobs")
set(CPACK_PACKAGE_DESCRIPTION "hss-jobwatchd polls Huawei Cloud Host Security Service for Kubernetes jobs,
diffs each complete listing and emits one event per added, removed,
modified or replaced job to journald and a local Unix socket.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# systemd-sysusers and systemd-tmpfiles run from postinst.
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd (>= 247)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
