package com.google.cloud.tools.jib.http;

import com.google.api.client.http.HttpResponseException;

/** jib-core's ResponseException, whose constructor is package-private, made for tests of what a registry answered. */
public final class TestResponses {
  private TestResponses() {}

  public static ResponseException of(HttpResponseException answer) {
    return new ResponseException(answer, false);
  }
}
