// response_mode=form_post: send the authorization response back to the client.
"use strict";
var form = document.getElementById("form-post");
if (form) {
  form.submit();
}
