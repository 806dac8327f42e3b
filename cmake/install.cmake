# What `cmake --install` puts where, for the Debian package (scripts/package.sh installs with --prefix /usr) and any
# other install. The program, the self-test data and the model catalog are installed by their own folders (cli/,
# src/selftest, src/models); the rest is here. The system paths are absolute: the service reads
# /etc/hailo/hailo-clip.yaml, and systemd reads units, sysusers.d and tmpfiles.d only from its own folders.
include(GNUInstallDirs)

# The unit goes where the target release keeps packaged units: /lib/systemd/system on Debian 12 and Raspberry Pi OS
# bookworm (trixie moved them to /usr/lib/systemd/system).
set(HCLIP_SYSTEMD_UNIT_DIR "/lib/systemd/system" CACHE PATH "Where the systemd unit is installed")
set(HCLIP_CONFIG_DIR "/etc/hailo" CACHE PATH "Where the default configuration hailo-clip.yaml is installed")
set(HCLIP_DOC_DIR "${CMAKE_INSTALL_DATADIR}/doc/hailo-clip")

# The OpenAI vocabulary the tokenizer embeds (src/tokenizer/builtin_vocab.h), as a file for reference.
install(FILES ${PROJECT_SOURCE_DIR}/assets/bpe_simple_vocab_16e6.txt.gz DESTINATION ${CMAKE_INSTALL_DATADIR}/hailo-clip)
# The health check, for installed systems (docs/deployment.md).
install(PROGRAMS ${PROJECT_SOURCE_DIR}/deploy/verify.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/hailo-clip)

# The default configuration (a conffile in the package: dpkg keeps an edited one).
install(FILES ${PROJECT_SOURCE_DIR}/config/hailo-clip.yaml DESTINATION ${HCLIP_CONFIG_DIR})

# The unit of deploy/ (written for --prefix /usr, the package's), with the program and documentation where this
# install puts them: written at install time, so `cmake --install --prefix DIR` gets the paths of DIR.
install(CODE "
    file(READ \"${PROJECT_SOURCE_DIR}/deploy/hailo-clip.service\" unit)
    string(REPLACE \"/usr/bin/hailo-clip\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/hailo-clip\"
           unit \"\${unit}\")
    string(REPLACE \"/usr/share/doc/hailo-clip/\" \"\${CMAKE_INSTALL_PREFIX}/${HCLIP_DOC_DIR}/\" unit \"\${unit}\")
    message(STATUS \"Installing: \$ENV{DESTDIR}${HCLIP_SYSTEMD_UNIT_DIR}/hailo-clip.service\")
    file(WRITE \"\$ENV{DESTDIR}${HCLIP_SYSTEMD_UNIT_DIR}/hailo-clip.service\" \"\${unit}\")
    file(CHMOD \"\$ENV{DESTDIR}${HCLIP_SYSTEMD_UNIT_DIR}/hailo-clip.service\"
         PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
")
install(FILES ${PROJECT_SOURCE_DIR}/packaging/hailo-clip.sysusers DESTINATION /usr/lib/sysusers.d
        RENAME hailo-clip.conf)
install(FILES ${PROJECT_SOURCE_DIR}/packaging/hailo-clip.tmpfiles DESTINATION /usr/lib/tmpfiles.d
        RENAME hailo-clip.conf)

# Documentation and the licence notices.
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/NOTICE DESTINATION ${HCLIP_DOC_DIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/ DESTINATION ${HCLIP_DOC_DIR}/docs FILES_MATCHING PATTERN "*.md")
