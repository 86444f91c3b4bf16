@echo off
rem Checks the bridge's setup (the game, the server, the token) and waits for a key, so that
rem the window stays open long enough to read the answer.
"%~dp0pitwall.exe" bridge --check %*
echo.
pause
