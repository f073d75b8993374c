"""The people's side of editsync: exceptions they own, an order's history, and what they do about them.

``projection`` turns records into rows (pure), ``store`` keeps them (SQLAlchemy), ``tailer`` feeds the
store from the topics, ``api`` and ``pages`` serve them over HTTP, ``notify`` tells the owning team,
``cli`` is the terminal's view of the API.
"""
