-- ttws gateway: no Bluetooth audio devices in the box's system PipeWire.
-- The earbuds are ttwsd's (its own L2CAP channels, ttws.sink); WirePlumber's
-- BlueZ monitor would register A2DP/HFP endpoints with bluetoothd and
-- could claim the same devices as Bluetooth headsets. Read through
-- XDG_CONFIG_HOME (ttws-wireplumber.service), after Debian's
-- 50-bluez-config.lua and before 90-enable-all.lua, which skips a
-- monitor whose enabled is false.
bluez_monitor.enabled = false
