"""The admin page "Settings > Notification logs": server-rendered HTML over the same store."""
