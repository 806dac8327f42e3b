# What `cmake --install` puts where, for the Debian package (scripts/package.sh configures with
# CMAKE_INSTALL_PREFIX=/usr) and any other install. The program, the self-test data and the model catalog are
# installed by their own folders (cli/, src/selftest, src/models); the rest is here.
include(GNUInstallDirs)

# systemd's folders. The unit goes where the target release keeps packaged units: /lib/systemd/system on Debian 12
# and Raspberry Pi OS bookworm (trixie moved them to /usr/lib/systemd/system).
set(HCLIP_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "Where the systemd unit is installed")
set(HCLIP_DOC_DIR "${CMAKE_INSTALL_DATADIR}/doc/hailo-clip")

# The OpenAI vocabulary the tokenizer embeds (src/tokenizer/builtin_vocab.h), as a file for reference.
install(FILES ${PROJECT_SOURCE_DIR}/assets/bpe_simple_vocab_16e6.txt.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/hailo-clip)
# The health check, for installed systems (docs/deployment.md).
install(PROGRAMS ${PROJECT_SOURCE_DIR}/deploy/verify.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/hailo-clip)

# The default configuration (a conffile in the package: dpkg keeps an edited one).
install(FILES ${PROJECT_SOURCE_DIR}/config/hailo-clip.yaml DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/hailo)

# The unit of deploy/, with the program and documentation where this install puts them.
file(READ ${PROJECT_SOURCE_DIR}/deploy/hailo-clip.service _unit)
string(REPLACE "/opt/hailo-clip/bin/hailo-clip" "${CMAKE_INSTALL_FULL_BINDIR}/hailo-clip" _unit "${_unit}")
string(REPLACE "/opt/hailo-clip/share/doc/hailo-clip/deployment.md"
               "${CMAKE_INSTALL_PREFIX}/${HCLIP_DOC_DIR}/docs/deployment.md" _unit "${_unit}")
string(REPLACE "Installed by deploy/install.sh to /etc/systemd/system/hailo-clip.service."
               "Installed by the hailo-clip package." _unit "${_unit}")
file(WRITE ${PROJECT_BINARY_DIR}/packaging/hailo-clip.service "${_unit}")
install(FILES ${PROJECT_BINARY_DIR}/packaging/hailo-clip.service DESTINATION ${HCLIP_SYSTEMD_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/hailo-clip.sysusers DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d
        RENAME hailo-clip.conf)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/hailo-clip.tmpfiles DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d
        RENAME hailo-clip.conf)

# Documentation and the licence notices.
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/NOTICE DESTINATION ${HCLIP_DOC_DIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${HCLIP_DOC_DIR}/docs FILES_MATCHING PATTERN "*.md")
# The unit above is read at configure time: configure again when it changes.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/hailo-clip.service)
