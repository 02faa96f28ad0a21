-- ttws gateway: WirePlumber 0.4 as the session manager of the box's one
-- system-wide PipeWire (ttws-wireplumber.service). That instance runs as
-- user pipewire with no D-Bus session bus, so the two features that need
-- one stay off, as Debian's 50-alsa-config.lua and
-- 50-default-access-config.lua advise for a system-wide instance
-- (without this WirePlumber exits with status 70 at start):
--   alsa.reserve: device reservation, org.freedesktop.ReserveDevice1 on
--     the session bus (module reserve-device);
--   enable-flatpak-portal: the portal's permission store, also on the
--     session bus (module portal-permissionstore).
-- Read through XDG_CONFIG_HOME (set by ttws-wireplumber.service), which
-- WirePlumber 0.4 searches before /etc/wireplumber and
-- /usr/share/wireplumber; it runs after Debian's 50-*-config.lua and
-- before 90-enable-all.lua, which loads the monitors with these
-- properties. Everything else keeps Debian's defaults.
alsa_monitor.properties["alsa.reserve"] = false
default_access.properties["enable-flatpak-portal"] = false
