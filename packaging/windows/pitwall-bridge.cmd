@echo off
rem Starts the bridge with the settings of bridge.toml (next to pitwall.exe). Leave this window
rem open while you drive; Ctrl+C stops the bridge cleanly.
"%~dp0pitwall.exe" bridge %*
echo.
pause
