<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows a Define-XML 2.1 file as one HTML page: the datasets, their variables with origins
     (the annotated CRF's forms linked), the value-level metadata, code lists and methods.
     A plain XSLT 1.0 stylesheet every browser runs; CDISC's own define2-1.xsl may replace it. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:odm="http://www.cdisc.org/ns/odm/v1.3"
    xmlns:def="http://www.cdisc.org/ns/def/v2.1"
    xmlns:xlink="http://www.w3.org/1999/xlink"
    exclude-result-prefixes="odm def xlink">
  <xsl:output method="html" encoding="UTF-8" indent="yes"/>
  <xsl:key name="item" match="odm:ItemDef" use="@OID"/>
  <xsl:key name="codelist" match="odm:CodeList" use="@OID"/>
  <xsl:key name="method" match="odm:MethodDef" use="@OID"/>
  <xsl:key name="where" match="def:WhereClauseDef" use="@OID"/>
  <xsl:key name="valuelist" match="def:ValueListDef" use="@OID"/>
  <xsl:key name="leaf" match="def:leaf" use="@ID"/>

  <xsl:template match="/">
    <xsl:variable name="mdv" select="/odm:ODM/odm:Study/odm:MetaDataVersion"/>
    <html lang="en">
      <head>
        <meta charset="utf-8"/>
        <title><xsl:value-of select="$mdv/@Name"/></title>
        <style>
          body { font: 13px/1.4 sans-serif; margin: 1.5em; color: #111; }
          table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
          th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
          th { background: #eef; }
          caption { text-align: left; font-weight: bold; padding: 4px 0; }
          .muted { color: #666; }
        </style>
      </head>
      <body>
        <h1><xsl:value-of select="/odm:ODM/odm:Study/odm:GlobalVariables/odm:StudyName"/>:
          <xsl:value-of select="$mdv/@Name"/></h1>
        <p><xsl:value-of select="$mdv/@Description"/></p>
        <p>
          <xsl:for-each select="$mdv/def:Standards/def:Standard">
            <xsl:value-of select="concat(@Name, ' ', @Version)"/>
            <xsl:if test="position() != last()"> · </xsl:if>
          </xsl:for-each>
        </p>
        <xsl:for-each select="$mdv/def:AnnotatedCRF/def:DocumentRef">
          <p>Annotated CRF: <a href="{key('leaf', @leafID)/@xlink:href}">
            <xsl:value-of select="key('leaf', @leafID)/def:title"/></a></p>
        </xsl:for-each>

        <table>
          <caption>Datasets</caption>
          <tr><th>Dataset</th><th>Description</th><th>Class</th><th>Structure</th><th>Keys</th><th>File</th></tr>
          <xsl:for-each select="$mdv/odm:ItemGroupDef">
            <tr>
              <td><a href="#{@OID}"><xsl:value-of select="@Name"/></a></td>
              <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td>
              <td><xsl:value-of select="def:Class/@Name"/></td>
              <td><xsl:value-of select="@def:Structure"/></td>
              <td>
                <xsl:for-each select="odm:ItemRef[@KeySequence]">
                  <xsl:sort select="@KeySequence" data-type="number"/>
                  <xsl:value-of select="key('item', @ItemOID)/@Name"/>
                  <xsl:if test="position() != last()">, </xsl:if>
                </xsl:for-each>
              </td>
              <td><a href="{def:leaf/@xlink:href}"><xsl:value-of select="def:leaf/def:title"/></a></td>
            </tr>
          </xsl:for-each>
        </table>

        <xsl:for-each select="$mdv/odm:ItemGroupDef">
          <table id="{@OID}">
            <caption><xsl:value-of select="concat(@Name, ' (', odm:Description/odm:TranslatedText, ')')"/></caption>
            <tr><th>Variable</th><th>Label</th><th>Type</th><th>Length</th><th>Code list</th><th>Origin</th><th>Values</th></tr>
            <xsl:for-each select="odm:ItemRef">
              <xsl:call-template name="item-row">
                <xsl:with-param name="ref" select="."/>
              </xsl:call-template>
            </xsl:for-each>
          </table>
        </xsl:for-each>

        <xsl:for-each select="$mdv/def:ValueListDef">
          <table id="{@OID}">
            <caption>Value-level metadata: <xsl:value-of select="substring-after(@OID, 'VL.')"/></caption>
            <tr><th>Where</th><th>Label</th><th>Type</th><th>Length</th><th>Code list</th><th>Origin</th></tr>
            <xsl:for-each select="odm:ItemRef">
              <xsl:variable name="item" select="key('item', @ItemOID)"/>
              <tr>
                <td>
                  <xsl:for-each select="key('where', def:WhereClauseRef/@WhereClauseOID)/odm:RangeCheck">
                    <xsl:value-of select="concat(key('item', @def:ItemOID)/@Name, ' = ', odm:CheckValue)"/>
                    <xsl:if test="position() != last()"> and </xsl:if>
                  </xsl:for-each>
                </td>
                <xsl:call-template name="item-cells">
                  <xsl:with-param name="item" select="$item"/>
                  <xsl:with-param name="ref" select="."/>
                </xsl:call-template>
              </tr>
            </xsl:for-each>
          </table>
        </xsl:for-each>

        <xsl:for-each select="$mdv/odm:CodeList">
          <table id="{@OID}">
            <caption><xsl:value-of select="concat('Code list: ', @Name)"/></caption>
            <tr><th>Code</th><th>Decode</th></tr>
            <xsl:for-each select="odm:CodeListItem|odm:EnumeratedItem">
              <tr><td><xsl:value-of select="@CodedValue"/></td>
                <td><xsl:value-of select="odm:Decode/odm:TranslatedText"/></td></tr>
            </xsl:for-each>
          </table>
        </xsl:for-each>

        <table>
          <caption>Methods</caption>
          <tr><th>Method</th><th>Type</th><th>Description</th></tr>
          <xsl:for-each select="$mdv/odm:MethodDef">
            <tr id="{@OID}"><td><xsl:value-of select="@Name"/></td><td><xsl:value-of select="@Type"/></td>
              <td><xsl:value-of select="odm:Description/odm:TranslatedText"/></td></tr>
          </xsl:for-each>
        </table>
      </body>
    </html>
  </xsl:template>

  <xsl:template name="item-row">
    <xsl:param name="ref"/>
    <xsl:variable name="item" select="key('item', $ref/@ItemOID)"/>
    <tr>
      <td><xsl:value-of select="$item/@Name"/></td>
      <xsl:call-template name="item-cells">
        <xsl:with-param name="item" select="$item"/>
        <xsl:with-param name="ref" select="$ref"/>
      </xsl:call-template>
      <td>
        <xsl:if test="$item/def:ValueListRef">
          <a href="#{$item/def:ValueListRef/@ValueListOID}">value list</a>
        </xsl:if>
      </td>
    </tr>
  </xsl:template>

  <xsl:template name="item-cells">
    <xsl:param name="item"/>
    <xsl:param name="ref"/>
    <td><xsl:value-of select="$item/odm:Description/odm:TranslatedText"/></td>
    <td><xsl:value-of select="$item/@DataType"/></td>
    <td><xsl:value-of select="$item/@Length"/></td>
    <td>
      <xsl:for-each select="$item/odm:CodeListRef">
        <a href="#{@CodeListOID}"><xsl:value-of select="key('codelist', @CodeListOID)/@Name"/></a>
      </xsl:for-each>
    </td>
    <td>
      <xsl:value-of select="$item/def:Origin/@Type"/>
      <xsl:for-each select="$item/def:Origin/def:DocumentRef/def:PDFPageRef">
        <xsl:variable name="href" select="key('leaf', ../@leafID)/@xlink:href"/>
        <xsl:text> (</xsl:text>
        <xsl:call-template name="pages">
          <xsl:with-param name="href" select="$href"/>
          <xsl:with-param name="pages" select="normalize-space(@PageRefs)"/>
        </xsl:call-template>
        <xsl:text>)</xsl:text>
      </xsl:for-each>
      <xsl:if test="$ref/@MethodOID">
        <xsl:text>: </xsl:text>
        <a href="#{$ref/@MethodOID}"><xsl:value-of select="key('method', $ref/@MethodOID)/@Name"/></a>
      </xsl:if>
    </td>
  </xsl:template>

  <xsl:template name="pages">
    <xsl:param name="href"/>
    <xsl:param name="pages"/>
    <xsl:variable name="first" select="substring-before(concat($pages, ' '), ' ')"/>
    <a href="{$href}#{$first}"><xsl:value-of select="substring-after($first, 'form-')"/></a>
    <xsl:variable name="rest" select="substring-after($pages, ' ')"/>
    <xsl:if test="$rest != ''">
      <xsl:text>, </xsl:text>
      <xsl:call-template name="pages">
        <xsl:with-param name="href" select="$href"/>
        <xsl:with-param name="pages" select="$rest"/>
      </xsl:call-template>
    </xsl:if>
  </xsl:template>
</xsl:stylesheet>
