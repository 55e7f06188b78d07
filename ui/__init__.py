"""The Streamlit pages of the app (app.py is the entry point): thin layers over assistant/ and kb records."""
