"""The staff's web console at /console/: server-rendered pages over the services the API calls."""
