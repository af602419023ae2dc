"""One router per resource; create_app (gateway/app.py) registers each of them."""
